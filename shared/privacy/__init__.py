"""Data protection (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): who a data subject is in careflow's
stores (`subjects`), the keyed hashes that keep an erased person from coming back (`suppression`),
erasure in every service's tables (`erasure`), and data-subject requests on time (`requests`).

Modelled on Segment's suppress-with-delete (delete what is held, and drop anything that arrives
about the person later) and Apache Unomi's "forget me" (one request erases the profile and its
events)."""
