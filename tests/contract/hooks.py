"""Schemathesis hooks of the contract run: schema-valid data must be accepted, except for the listed rules
that no JSON Schema can state.

`positive_data_acceptance_listed` replaces schemathesis' own `positive_data_acceptance` (whose default
tolerates every 401, 403, 404 and 409, and fails every 412 and 422 whatever the reason). Here a 4xx answer
to data the document says is valid fails the run unless its problem `code` (and, for a 422
`validation_failed`, every field error's `code`) is one of the listed rules below, each with why a schema
cannot state it. Anything else means the document says less than the server enforces: state the rule in
`src/contract.rs` (or as an enum), not here.
"""

import json

import schemathesis
from schemathesis.transport.requests import REQUESTS_TRANSPORT, binary_serializer

# tus bodies (`PATCH /uploads/{id}`, a creation with upload) are raw bytes, as `application/octet-stream`.
REQUESTS_TRANSPORT.serializer("application/offset+octet-stream")(binary_serializer)

# Problem codes a schema-valid request may get, and why no schema can state the rule behind them.
ALLOWED_PROBLEMS = {
    # Who you are and what you may touch: the policy, not the shape of the request.
    "unauthorized": "no or an unknown token (GET /metrics wants the metrics token, not a user's)",
    "invalid_credentials": "a wrong username or password",
    "invalid_refresh_token": "a refresh token the server never issued or that expired",
    "refresh_token_reused": "a rotated refresh token presented again",
    "forbidden": "the role or scope may not do this (or it is your own account)",
    # What exists: the schema says an id is a UUID, not that a record has it.
    "not_found": "a referenced record is missing or outside your scope",
    # State, not shape.
    "conflict": "a duplicate code, a dissolved team, a resolved conflict, ...",
    "period_locked": "the reporting month is closed for team leaders",
    "session_verified": "a verified record is frozen",
    "period_signed_off": "the record's commune and month are signed off",
    "sign_off_incomplete": "records of the month still await verification",
    "precondition_failed": "a stale If-Match",
    "idempotency_key_reused": "the fuzzer sends one Idempotency-Key with two bodies",
    "idempotency_in_progress": "the first request with this key is still running",
    # Evidence uploads: what the bytes are, and where an upload stands.
    "upload_offset_mismatch": "Upload-Offset is not where the upload stands (state)",
    "upload_gone": "the upload expired or was removed",
    "upload_quota_exceeded": "the team's daily upload allowance (state)",
    "checksum_mismatch": "the fuzzer's Upload-Checksum is not the digest of its body",
    "unsupported_media_type": "the bytes are not a JPEG, PNG, WebP or PDF (recognised from the content)",
    "payload_too_large": "more bytes than Upload-Length leaves, or than ATTACHMENT_MAX_BYTES",
    "range_not_satisfiable": "a Range beyond the file's size",
    "rate_limited": "the sign-in lockout after failed passwords",
    # Opaque: a cursor is whatever the server made; random text is not one.
    "invalid_query": "a cursor the server did not make (checked below)",
}

# Field-error codes of a 422 `validation_failed` on schema-valid data, and why no schema can state them.
ALLOWED_FIELD_RULES = {
    "not_found": "a referenced record is missing or outside your scope",
    "unknown_upload": "the upload is not a finished one of yours (state)",
    "too_many_attachments": "the record has ATTACHMENTS_PER_RECORD already (state)",
    "malformed_file": "the bytes start like an accepted type but are not a well-formed file of it",
    "empty_file": "Upload-Length 0: no evidence",
    "not_in_force": "a unit that was not in force on the date given",
    "in_future": "a date after today (today moves)",
    "not_ended": "a month not over yet (today moves)",
    "out_of_range": "a birth year after this year, or a period beyond what the aggregates hold",
    "incorrect": "a wrong current password",
    "too_weak": "a guessable password (zxcvbn), not a length",
    "contains_username": "a password holding the username or name",
    "exactly_one": "one of two fields (a oneOf over optional fields)",
    "required": "a field required by another field's value (a team leader's team, a merge's data); never "
    "serde's own `missing field`, which means the document should have listed it as required",
    "required_together": "two fields given together",
    "nul_character": "PostgreSQL text cannot hold U+0000",
    "team_not_active": "the team's state",
    "outside_team_commune": "a unit outside the commune the team works in (where a team works is data)",
    "not_a_member": "a trainer who is not a membership of the session's team",
    "not_broadcast": "an estimated audience for a channel that is not a broadcast; a PATCH may send the "
    "audience alone, and then the stored record's channel decides (a create states it with if/then)",
    "implausible": "an outcome above what the participants allow (n per participant); after a PATCH the "
    "stored record's counts take part, which the request body alone cannot show",
    "campaign_not_open": "the campaign's state",
    "outside_campaign": "a date outside the campaign's own dates",
    "not_in_campaign": "a skill group or fraud type the campaign does not cover",
    "invalid_level": "a unit of the wrong level for this use",
    "invalid_parent": "a parent unit of a level not above the unit",
    "level_mismatch": "predecessors of another level than the successor",
    "not_allowed": "a field the unit's level forbids",
    "not_for_level": "a unit kind that does not belong to the unit's level (xa is a commune's)",
    "too_long": "a weekly breakdown over more than three years (`by` and the period together)",
    # Where a webhook may point: configuration and DNS, not the URL's shape (which the pattern states).
    "https_required": "http:// is allowed only for hosts in WEBHOOK_ALLOWED_HOSTS (configuration)",
    "private_address": "the host is or resolves to a private, loopback or link-local address (DNS)",
    "unresolvable_host": "the host does not resolve (DNS)",
    "invalid_url": "the URL standard's host and port rules (IPv6 brackets, ports above 65535, IDNA), and "
    "tabs or control characters the pattern leaves to it",
    # A CSV body is a string to a schema, which cannot state the file's structure.
    "missing_columns": "a spreadsheet header row without the import's columns",
    "malformed_csv": "a CSV row with more cells than its header, or an unreadable line",
    "malformed_xlsx": "a body sent as XLSX that is not a readable workbook (a zip of XML parts)",
    "unknown_encoding": "CSV bytes that are neither UTF-8, UTF-16 nor Windows-1258 text",
    "unknown_charset": "a charset parameter naming an encoding the server does not read",
}
# Cross-field comparisons: `before_<field>`, `after_<field>`, `exceeds_<field>` (female participants
# above the total, an end before its start): JSON Schema compares no two fields.
CROSS_FIELD_PREFIXES = ("before_", "after_", "exceeds_", "over_")


def _whole_number_with_a_fraction(error):
    """JSON Schema's `integer` admits `12.0`; the server reads integers as integers and names the
    value it refused (`invalid type: floating point `12.0`, expected i32`). No schema keyword excludes
    a written fraction of zero, and no JSON encoder of an integer writes one."""
    message = error.get("message") or ""
    return error.get("code") == "invalid_type" and "floating point `" in message and ".0`" in message


def _problem(response):
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _is_cursor_problem(case, problem):
    query = case.query or {}
    return "cursor" in query and "cursor" in (problem.get("detail") or "")


def _rule_no_schema_states(error):
    code = str(error.get("code"))
    if code == "required" and str(error.get("message") or "").startswith("missing field"):
        return False
    return (
        code in ALLOWED_FIELD_RULES
        or code.startswith(CROSS_FIELD_PREFIXES)
        or _whole_number_with_a_fraction(error)
    )


# tus (`/api/v1/uploads`): header rules and upload state no schema states.
UPLOAD_HEADER_FIELDS = {"Upload-Metadata", "Upload-Checksum", "Upload-Defer-Length", "Tus-Resumable"}


def _listed(case, response):
    if case.method.upper() == "HEAD":
        # A HEAD answer has no body to hold a problem: the status alone (tus's HEAD).
        return response.status_code in (400, 401, 403, 404, 410, 412), f"HEAD answered {response.status_code}"
    problem = _problem(response)
    if problem is not None and problem.get("code") == "invalid_body" and case.path.startswith("/api/v1/uploads"):
        fields = {error.get("field") for error in problem.get("errors") or []}
        if fields and fields <= UPLOAD_HEADER_FIELDS:
            return True, ""
    if problem is None:
        return False, "a 4xx without a problem document"
    code = problem.get("code")
    if code == "validation_failed":
        unlisted = [
            f"{error.get('field')}: {error.get('code')}"
            for error in problem.get("errors") or []
            if not _rule_no_schema_states(error)
        ]
        if unlisted or not problem.get("errors"):
            return False, "422 for rules the document could state: " + ", ".join(unlisted)
        return True, ""
    if code == "invalid_query" and not _is_cursor_problem(case, problem):
        return False, f"400 invalid_query: {problem.get('detail')}"
    if code in ALLOWED_PROBLEMS:
        return True, ""
    return False, f"{response.status_code} {code}: {problem.get('detail')}"


@schemathesis.check
def positive_data_acceptance_listed(ctx, response, case):
    """Schema-valid data is accepted, or refused only for a listed rule no schema can state."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not 400 <= response.status_code < 500:
        return None
    listed, why = _listed(case, response)
    if not listed:
        raise AssertionError(f"Schema-valid data rejected: {why}")
    return None
