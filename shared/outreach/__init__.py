"""Outreach: the one way services contact a person (`requests`: e-mail, SMS and call requests under
the contact rules, and the consent they read), and the one way a lead's outcome is announced
(`announcements`: escalated to an owner, supported)."""
