import datetime as dt

import pytest

from shared.domain.contact_rules import (ANY_HOURS, Blocked, Channel, ConsentState, ContactPolicy, Send, decide, in_hours,
                                         parse_agreed_hours,
                                         is_stop_request, marketing_email, marketing_sms_text, next_permitted)

UTC = dt.timezone.utc
ICT = dt.timezone(dt.timedelta(hours=7))
POLICY = ContactPolicy()
SMS_HOURS, CALL_HOURS = POLICY.sms_hours, POLICY.call_hours
ALL_GRANTED = ConsentState.unknown().apply("granted", "all")


def vn(day, hour, minute=0, second=0):
    """A Vietnam wall-clock time in March 2026, given as +07:00."""
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=ICT)


def utc(day, hour, minute=0):
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


# --- hours ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("now, expected", [
    (vn(2, 7), vn(2, 7)),                    # 07:00 exactly is inside
    (utc(2, 0), vn(2, 7)),                   # the same instant given in UTC
    (vn(2, 6, 59), vn(2, 7)),                # 06:59 → 07:00 the same day
    (vn(2, 6, 59, 59), vn(2, 7)),
    (vn(2, 21, 59, 59), vn(2, 21, 59, 59)),  # still inside
    (vn(2, 22), vn(3, 7)),                   # 22:00 exactly is outside
    (utc(2, 15), vn(3, 7)),                  # 22:00 Vietnam = 15:00 UTC
    (vn(2, 22, 30), vn(3, 7)),               # 22:30 → 07:00 next day
    (utc(2, 16, 30), vn(3, 7)),              # 23:30 Vietnam
    (utc(2, 17, 30), vn(3, 7)),              # 00:30 Vietnam on the 3rd (still the 2nd in UTC)
    (vn(3, 0, 1), vn(3, 7)),
])
def test_next_permitted_for_sms(now, expected):
    assert next_permitted(now, SMS_HOURS, "Asia/Ho_Chi_Minh") == expected


@pytest.mark.parametrize("now, expected", [
    (vn(2, 8), vn(2, 8)),
    (utc(2, 1), vn(2, 8)),                   # 08:00 Vietnam = 01:00 UTC
    (vn(2, 7, 59), vn(2, 8)),
    (vn(2, 16, 59), vn(2, 16, 59)),
    (vn(2, 17), vn(3, 8)),                   # 17:00 exactly is outside
    (utc(2, 10), vn(3, 8)),                  # 17:00 Vietnam = 10:00 UTC
    (vn(2, 20), vn(3, 8)),
])
def test_next_permitted_for_calls(now, expected):
    assert next_permitted(now, CALL_HOURS, "Asia/Ho_Chi_Minh") == expected


def test_no_hours_means_any_time_and_the_result_is_aware():
    assert next_permitted(vn(2, 3), None) == vn(2, 3)
    assert next_permitted(vn(2, 23), SMS_HOURS).tzinfo is not None


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        next_permitted(dt.datetime(2026, 3, 2, 12), SMS_HOURS)
    with pytest.raises(ValueError):
        decide(Channel.SMS, True, ALL_GRANTED, [], dt.datetime(2026, 3, 2, 12), POLICY)


def test_a_window_may_wrap_past_midnight():
    night = (dt.time(22), dt.time(6))
    assert in_hours(vn(2, 23), night) and in_hours(vn(3, 5), night)
    assert next_permitted(vn(2, 12), night) == vn(2, 22)


@pytest.mark.parametrize("channel, now, expected", [
    (Channel.SMS, vn(2, 7), Send(None)),
    (Channel.SMS, vn(2, 22), Send(vn(3, 7))),
    (Channel.SMS, utc(2, 23, 59), Send(vn(3, 7))),  # 06:59 on the 3rd in Vietnam
    (Channel.SMS, utc(3, 0), Send(None)),           # 07:00 on the 3rd in Vietnam
    (Channel.SMS, utc(2, 14, 59), Send(None)),      # 21:59 in Vietnam
    (Channel.CALL, vn(2, 8), Send(None)),
    (Channel.CALL, vn(2, 17), Send(vn(3, 8))),
    (Channel.CALL, utc(2, 0, 30), Send(vn(2, 8))),  # 07:30 Vietnam
    (Channel.EMAIL, vn(2, 3), Send(None)),          # e-mail at any hour
    (Channel.EMAIL, vn(2, 23), Send(None)),
])
def test_marketing_outside_hours_is_scheduled_not_dropped(channel, now, expected):
    assert decide(channel, True, ALL_GRANTED, [], now, POLICY) == expected


def test_agreed_hours_lift_the_hours_limit_only():
    agreed = ConsentState().apply("granted", "all", ANY_HOURS)
    assert decide(Channel.SMS, True, agreed, [], vn(2, 23), POLICY) == Send(None)
    assert decide(Channel.CALL, True, agreed, [], vn(2, 20), POLICY) == Send(None)
    assert decide(Channel.CALL, True, agreed, [vn(2, 10)], vn(2, 20), POLICY) == Send(vn(3, 10))
    assert decide(Channel.SMS, True, agreed.apply("withdrawn", "sms"), [], vn(2, 23), POLICY) == Blocked("withdrawn")


def test_an_agreed_window_replaces_the_legal_hours_of_its_channel_only():
    evenings = ConsentState().apply("granted", "all").apply("granted", "call", parse_agreed_hours("18h-20h30"))
    assert decide(Channel.CALL, True, evenings, [], vn(2, 19), POLICY) == Send(None)        # after 17:00: agreed
    assert decide(Channel.CALL, True, evenings, [], vn(2, 10), POLICY) == Send(vn(2, 18))  # not in the morning
    assert decide(Channel.SMS, True, evenings, [], vn(2, 23), POLICY) == Send(vn(3, 7))    # SMS keeps the law's
    # A withdrawal forgets the hours: a later grant without hours is back to the legal ones.
    again = evenings.apply("withdrawn", "call").apply("granted", "call")
    assert decide(Channel.CALL, True, again, [], vn(2, 19), POLICY) == Send(vn(3, 8))


@pytest.mark.parametrize("written, hours", [
    ("any", ANY_HOURS), ("Bất kỳ lúc nào", ANY_HOURS), ("24/7", ANY_HOURS), ("mọi lúc", ANY_HOURS), ("", None),
    (None, None), ("08:00-20:00", (dt.time(8), dt.time(20))), ("8h-20h30", (dt.time(8), dt.time(20, 30))),
    ("từ 8h đến 21h", (dt.time(8), dt.time(21))), ("19:00 - 07:00", (dt.time(19), dt.time(7))),
])
def test_agreed_hours_as_lists_write_them(written, hours):
    assert parse_agreed_hours(written) == hours


@pytest.mark.parametrize("written", ["sometimes", "8-", "25:00-26:00", "giờ hành chính"])
def test_unreadable_agreed_hours_are_an_error_not_a_guess(written):
    with pytest.raises(ValueError, match="agreed hours"):
        parse_agreed_hours(written)


# --- caps ----------------------------------------------------------------------------------------

def test_the_third_sms_in_24_hours_is_allowed():
    assert decide(Channel.SMS, True, ALL_GRANTED, [vn(2, 9), vn(2, 10)], vn(2, 11), POLICY) == Send(None)


def test_the_fourth_sms_waits_until_the_oldest_falls_out_of_the_24_hours():
    sends = [vn(2, 9), vn(2, 10), vn(2, 11)]
    assert decide(Channel.SMS, True, ALL_GRANTED, sends, vn(2, 12), POLICY) == Send(vn(3, 9))


def test_the_fourth_sms_waits_for_the_window_and_then_for_the_hours():
    sends = [vn(1, 21, 30), vn(2, 8), vn(2, 9)]  # the oldest leaves at 21:30 on the 2nd...
    assert decide(Channel.SMS, True, ALL_GRANTED, sends, vn(2, 12), POLICY) == Send(vn(2, 21, 30))
    sends = [vn(1, 22, 30) - dt.timedelta(hours=1, minutes=1), vn(2, 8), vn(2, 9)]
    assert decide(Channel.SMS, True, ALL_GRANTED, sends, vn(2, 12), POLICY) == Send(vn(2, 21, 29))
    late = [utc(1, 15, 45), vn(2, 8), vn(2, 9)]  # 22:45 on the 1st → frees at 22:45 on the 2nd → 07:00 on the 3rd
    assert decide(Channel.SMS, True, ALL_GRANTED, late, vn(2, 12), POLICY) == Send(vn(3, 7))


def test_sends_older_than_24_hours_do_not_count_and_the_boundary_is_exclusive():
    sends = [vn(1, 12), vn(2, 9), vn(2, 10)]  # the first one left the window exactly now
    assert decide(Channel.SMS, True, ALL_GRANTED, sends, vn(2, 12), POLICY) == Send(None)
    assert decide(Channel.SMS, True, ALL_GRANTED, [vn(1, 1)] * 5, vn(2, 12), POLICY) == Send(None)


def test_one_call_per_24_hours_then_the_next_permitted_hour():
    assert decide(Channel.CALL, True, ALL_GRANTED, [vn(2, 9)], vn(2, 10), POLICY) == Send(vn(3, 9))
    assert decide(Channel.CALL, True, ALL_GRANTED, [vn(2, 16, 30)], vn(2, 16, 45), POLICY) == Send(vn(3, 16, 30))
    assert decide(Channel.CALL, True, ALL_GRANTED, [vn(2, 7, 50)], vn(2, 10), POLICY) == Send(vn(3, 8))


def test_three_emails_then_the_fourth_waits_at_any_hour():
    sends = [vn(1, 23), vn(2, 1), vn(2, 2)]
    assert decide(Channel.EMAIL, True, ALL_GRANTED, sends, vn(2, 3), POLICY) == Send(vn(2, 23))


def test_already_scheduled_sends_count_too():
    # at 23:00 three SMS are already booked for 07:00 tomorrow: the next one must not squeeze in before them
    booked = [vn(3, 7)] * 3
    assert decide(Channel.SMS, True, ALL_GRANTED, booked, vn(2, 23), POLICY) == Send(vn(4, 7))


def test_caps_count_per_channel_and_come_from_the_policy():
    policy = ContactPolicy.from_mapping({"daily_caps": {"sms": 1}})
    assert policy.cap(Channel.SMS) == 1 and policy.cap(Channel.EMAIL) == 3
    assert decide(Channel.SMS, True, ALL_GRANTED, [vn(2, 9)], vn(2, 10), policy) == Send(vn(3, 9))


def test_a_zero_cap_blocks():
    policy = ContactPolicy.from_mapping({"daily_caps": {"call": 0}})
    assert decide(Channel.CALL, True, ALL_GRANTED, [], vn(2, 10), policy) == Blocked("no_capacity")


# --- consent -------------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", list(Channel))
def test_marketing_needs_prior_consent(channel):
    assert decide(channel, True, ConsentState.unknown(), [], vn(2, 10), POLICY) == Blocked("no_consent")
    granted = ConsentState.unknown().apply("granted", channel.value)
    assert decide(channel, True, granted, [], vn(2, 10), POLICY) == Send(None)


def test_consent_for_one_channel_is_not_consent_for_another():
    sms_only = ConsentState.unknown().apply("granted", "sms")
    assert decide(Channel.EMAIL, True, sms_only, [], vn(2, 10), POLICY) == Blocked("no_consent")
    assert decide(Channel.CALL, True, sms_only, [], vn(2, 10), POLICY) == Blocked("no_consent")


@pytest.mark.parametrize("channel, expected", [
    (Channel.SMS, Blocked("dnc_listed")),
    (Channel.CALL, Blocked("dnc_listed")),
    (Channel.EMAIL, Send(None)),
])
def test_dnc_blocks_sms_and_calls_but_not_email(channel, expected):
    state = ALL_GRANTED.apply("dnc_listed", "all")
    assert state.dnc_listed
    assert decide(channel, True, state, [], vn(2, 10), POLICY) == expected


def test_dnc_removed_lifts_the_block():
    state = ALL_GRANTED.apply("dnc_listed", "all").apply("dnc_removed", "all")
    assert decide(Channel.SMS, True, state, [], vn(2, 10), POLICY) == Send(None)


def test_withdrawing_one_channel_leaves_the_others():
    state = ALL_GRANTED.apply("withdrawn", "email")
    assert decide(Channel.EMAIL, True, state, [], vn(2, 10), POLICY) == Blocked("withdrawn")
    assert decide(Channel.SMS, True, state, [], vn(2, 10), POLICY) == Send(None)
    assert decide(Channel.CALL, True, state, [], vn(2, 10), POLICY) == Send(None)


@pytest.mark.parametrize("channel", list(Channel))
def test_withdrawing_all_stops_every_channel(channel):
    state = ALL_GRANTED.apply("withdrawn", "all")
    assert state.granted == frozenset() and state.withdrawn == frozenset(Channel)
    assert decide(channel, True, state, [], vn(2, 10), POLICY) == Blocked("withdrawn")
    assert not state.allows_marketing(channel)


def test_consent_granted_again_after_withdrawal_counts():
    state = ALL_GRANTED.apply("withdrawn", "sms").apply("granted", "sms")
    assert decide(Channel.SMS, True, state, [], vn(2, 10), POLICY) == Send(None)


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("marketing", [True, False])
def test_erasure_blocks_everything_including_service_messages(channel, marketing):
    state = ALL_GRANTED.apply("erased", "all")
    assert state == ConsentState(erased=True)
    assert decide(channel, marketing, state, [], vn(2, 10), POLICY) == Blocked("erased")


def test_erasure_is_final():
    state = ConsentState.unknown().apply("erased", "all").apply("granted", "all").apply("dnc_removed", "all")
    assert decide(Channel.EMAIL, False, state, [], vn(2, 10), POLICY) == Blocked("erased")


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("consent", [
    ConsentState.unknown(),
    ConsentState.unknown().apply("withdrawn", "all"),
    ConsentState.unknown().apply("dnc_listed", "all"),
])
def test_service_messages_bypass_consent_dnc_hours_and_caps(channel, consent):
    sends = [vn(2, 21)] * 5
    assert decide(channel, False, consent, sends, vn(2, 23, 30), POLICY) == Send(None)


@pytest.mark.parametrize("status, channel", [("granted", "fax"), ("maybe", "sms"), ("withdrawn", "")])
def test_unknown_consent_values_are_refused(status, channel):
    with pytest.raises(ValueError):
        ConsentState.unknown().apply(status, channel)


def test_apply_accepts_enum_channels_and_leaves_the_original_alone():
    start = ConsentState.unknown()
    assert start.apply("granted", Channel.CALL).granted == frozenset({Channel.CALL})
    assert start == ConsentState.unknown()


# --- policy config -------------------------------------------------------------------------------

def test_policy_from_mapping():
    policy = ContactPolicy.from_mapping({"sms_hours": ["08:00", "21:00"], "call_hours": None,
                                         "sms_shortcode": "8077", "timezone": "Asia/Ho_Chi_Minh"})
    assert policy.sms_hours == (dt.time(8), dt.time(21)) and policy.call_hours is None
    assert policy.sms_opt_out_text == "Từ chối nhận QC: soạn TC gửi 8077"
    assert ContactPolicy.from_mapping({}) == ContactPolicy()


@pytest.mark.parametrize("mapping, fragment", [
    ({"sms_hour": ["07:00", "22:00"], "colour": "red"}, "colour, sms_hour"),
    ({"daily_caps": {"fax": 1}}, "fax"),
    ({"daily_caps": {"sms": -1}}, "sms"),
    ({"sms_hours": ["7am", "10pm"]}, "sms_hours"),
    ({"call_hours": ["08:00", "08:00"]}, "call_hours"),
    ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
])
def test_bad_policy_config_is_refused_by_name(mapping, fragment):
    with pytest.raises(ValueError, match=fragment):
        ContactPolicy.from_mapping(mapping)


# --- message shaping -----------------------------------------------------------------------------

OPT_OUT = POLICY.sms_opt_out_text


@pytest.mark.parametrize("body", [
    "Ưu đãi chuyển phát hồ sơ BHXH",
    "[QC] Ưu đãi chuyển phát hồ sơ BHXH",
    "[qc]   Ưu đãi chuyển phát hồ sơ BHXH",
    f"[QC] Ưu đãi chuyển phát hồ sơ BHXH {OPT_OUT}",
])
def test_marketing_sms_starts_with_qc_once_and_ends_with_the_opt_out(body):
    text = marketing_sms_text(body, POLICY)
    assert text == f"[QC] Ưu đãi chuyển phát hồ sơ BHXH {OPT_OUT}"
    assert text.count("[QC]") == 1 and text.count(OPT_OUT) == 1
    assert marketing_sms_text(text, POLICY) == text


def test_the_sms_opt_out_names_the_configured_short_code():
    assert marketing_sms_text("Ưu đãi", ContactPolicy(sms_shortcode="8077")).endswith("soạn TC gửi 8077")


def test_marketing_email_carries_the_opt_out_footer_once():
    subject, body = marketing_email("Chuyển phát hồ sơ BHXH", "Kính gửi Quý doanh nghiệp,\n...", POLICY)
    assert subject == "Chuyển phát hồ sơ BHXH"
    assert body.startswith("Kính gửi Quý doanh nghiệp,") and body.endswith(POLICY.email_opt_out)
    assert marketing_email(subject, body, POLICY) == (subject, body)


def test_email_subject_label_when_configured():
    policy = ContactPolicy(email_subject_prefix="[QC]")
    assert marketing_email("[QC] Ưu đãi", "x", policy)[0] == "[QC] Ưu đãi"
    assert marketing_email("Ưu đãi", "x", policy)[0] == "[QC] Ưu đãi"


# --- stop requests -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "TC", "tc", " TC 9029 ", "STOP", "Stop all", "Unsubscribe", "Hủy",
    "Từ chối", "Tôi từ chối nhận quảng cáo", "tu choi nhan qc", "TỪ CHỐI NHẬN EMAIL",
    "Hủy đăng ký", "huy dang ky giup toi", "Xin hủy đăng ký nhận thư",
    "Ngừng gửi", "ngung gui tin cho toi", "Đừng gửi nữa!", "dung gui email nua",
    "Làm ơn đừng gửi cho tôi nữa", "Xin đừng làm phiền", "Đừng liên hệ nữa",
    "Không nhận", "Tôi không muốn nhận thư này", "không nhận quảng cáo", "khong muon nhan email nua",
    "Dừng lại đi", "Không quan tâm.", "Bỏ tôi ra khỏi danh sách", "xoa so khoi danh sach",
    "Please unsubscribe me", "remove me from your list", "STOP sending me emails", "please stop",
    "Do not contact me again", "Don't email me", "opt-out", "No more emails, thanks",
    "Cảm ơn, nhưng đừng gửi nữa.\n\n> Kính gửi Quý doanh nghiệp",
])
def test_stop_requests(text):
    assert is_stop_request(text)


@pytest.mark.parametrize("text", [
    "",
    "tôi không có thời gian, gọi lại số 0912345678",
    "Toi khong co thoi gian, goi lai so 0912 345 678",
    "Tôi không nhận được hồ sơ, kiểm tra giúp",
    "Hồ sơ của tôi bị từ chối, hỗ trợ giúp tôi",
    "Không liên hệ được với bưu cục, gọi cho tôi số 0243 825 1234",
    "Đúng, gọi cho tôi sau 15h",
    "Vâng, gửi cho tôi báo giá",
    "Không, tôi là kế toán. Liên hệ anh Minh 0987654321",
    "Can you call me tomorrow? My number is +84912345678",
    "Tôi muốn đăng ký dịch vụ, gửi hồ sơ thế nào?",
    "Thời gian nhận hồ sơ là khi nào?",
    "Không quan tâm giá, khi nào giao được?",
    "Tôi đã dừng lại ở bước 3 của phần mềm",
    "Don't stop the service, we need pickups every week please thanks",
])
def test_normal_replies_are_not_stop_requests(text):
    assert not is_stop_request(text)


def test_quoting_our_own_footer_is_not_a_stop_request():
    _, body = marketing_email("Ưu đãi", "Kính gửi Quý doanh nghiệp", POLICY)
    quoted = "Vâng, gọi cho tôi số 0912345678.\n\nOn Mon, 2 Mar 2026, CareFlow wrote:\n" + body
    assert not is_stop_request(quoted)
    assert not is_stop_request("Gọi lại cho tôi nhé. " + POLICY.email_opt_out)
    assert not is_stop_request("Vâng ạ\n" + "\n".join("> " + line for line in body.splitlines()))


@pytest.mark.parametrize("text", [
    "TC", "tc", "TC QC", "Tc qc", "HUY", "HỦY", "Hủy QC", "huy het", "STOP", "stop all", "Stop 9029", "KHONG", "KHÔNG",
    "không", "Ko", "K", "tu choi", "Từ chối", "TỪ CHỐI QC", "TC 9029", " tc. ", "DUNG", "Dừng nhận tin", "ngung",
    "đừng nhắn tin nữa", "unsubscribe", "Opt out", "HUY QC 9029", "Không nhận QC nữa",
])
def test_sms_stop_words_people_send(text):
    from shared.domain.contact_rules import is_sms_stop
    assert is_sms_stop(text)


@pytest.mark.parametrize("text", ["OK", "Có", "Khong biet gi het", "Gọi lại cho tôi lúc 3h", "DK QC", "stopwatch",
                                  "khuyến mãi gì vậy", "tcb", ""])
def test_other_sms_replies_are_not_stops(text):
    from shared.domain.contact_rules import is_sms_stop
    assert not is_sms_stop(text)
