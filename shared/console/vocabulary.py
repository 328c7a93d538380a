"""The words the console shows that come from the store (roles, stages, reasons, kinds, states),
marked here so that the catalogue extraction (`pybabel extract -k N_`) finds them."""


def N_(message: str) -> str:
    return message


ROLES = (N_("admin"), N_("tct_supervisor"), N_("bdt_staff"), N_("care_agent"), N_("callcentre_supervisor"), N_("dpo"))
STAGES = (N_("imported"), N_("normalized"), N_("in_outreach"), N_("escalated"), N_("supported"),
          N_("list:callable"), N_("list:email_only"), N_("list:insufficient"), N_("requested:email"),
          N_("requested:sms"), N_("requested:call"), N_("called"))
REASONS = (N_("inactive"), N_("not_found"), N_("insufficient_contacts"), N_("unreachable"), N_("no_email_reply"),
           N_("returned_to_tct"), N_("refused"))
BLOCKED = (N_("blocked:erased"), N_("blocked:withdrawn"), N_("blocked:dnc_listed"), N_("blocked:no_consent"),
           N_("blocked:no_capacity"), N_("blocked:hours"), N_("channel:email"), N_("channel:sms"), N_("channel:call"))
PRIVACY = (N_("request:access"), N_("request:withdrawal"), N_("request:erasure"), N_("identifier:phone"),
           N_("identifier:email"), N_("identifier:tax_code"), N_("identifier:subscriber"))
OUTCOMES = (N_("contact_found"), N_("closed_inactive"), N_("closed"))
TIMELINE = (N_("calls"), N_("worked"), N_("consent"), N_("case_opened"), N_("case_resolved"), N_("console"))
CARE = (N_("consult_service"), N_("consult_software"), N_("pickup_urging"), N_("complaint"), N_("open"),
        N_("waiting_on_customer"), N_("resolved"))
AUDIT = (N_("done"), N_("failed"), N_("throttled"))
PROFILES = (N_("gender"), N_("occupation"), N_("hobbies"), N_("declared"), N_("agent_assessed"),
            N_("refusal_default"), N_("unknown"), N_("prompted"), N_("skipped"), N_("hotline"), N_("store"),
            N_("skip:company_owned"), N_("skip:service_subscription"), N_("skip:test_sim"), N_("skip:outside_hours"),
            N_("skip:profile_complete"), N_("skip:caller_not_user"), N_("skip:lost_phone"), N_("skip:complaint"),
            N_("skip:difficult_customer"))
