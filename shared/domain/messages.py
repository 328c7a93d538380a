"""The texts careflow's outreach sends, shaped by the contact rules: marketing SMS start with the
"[QC]" label, and every message ends with its opt-out (Decree 91/2020/NĐ-CP)."""

from __future__ import annotations

from shared.domain.contact_rules import ContactPolicy, marketing_email, marketing_sms_text

EMAIL_SUBJECT = "Dịch vụ chuyển phát hồ sơ BHXH tận nơi của Bưu điện"
EMAIL_BODY = ("Kính gửi Quý doanh nghiệp, Bưu điện hỗ trợ nhận và chuyển phát hồ sơ bảo hiểm xã hội tận nơi. "
              "Vui lòng trả lời thư này kèm số điện thoại để được tư vấn, hoặc gọi tổng đài 1900 54 54 81.")
SMS_TEXT = "Buu dien nhan va chuyen phat ho so BHXH tan noi. Goi 1900545481 de duoc tu van."


def outreach_email(policy: ContactPolicy) -> tuple[str, str]:
    """(subject, body) of the dossier delivery service's marketing e-mail."""
    return marketing_email(EMAIL_SUBJECT, EMAIL_BODY, policy)


def outreach_sms(policy: ContactPolicy) -> str:
    return marketing_sms_text(SMS_TEXT, policy)
