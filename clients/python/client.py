#!/usr/bin/python3
"""A Python client of the tierspayant adjudicator, run by python_test.go.

Usage: client.py ADDR STUBDIR

ADDR is the gRPC address of a running adjudicator (plaintext, authentication
open). STUBDIR holds what `protoc --python_out` generated from proto/ and from
tpclient/rpc_status.proto, a declaration of google.rpc.Status and
google.rpc.BadRequest with their field numbers (python_test.go writes it):
Debian's packages have no gRPC plugin for Python nor google.rpc modules, so
the methods are called through channel.unary_unary with the messages'
serializers, and the error details are decoded from the
grpc-status-details-bin trailer by hand.

The client registers a beneficiary, adjudicates the GP consultation of the
README's walk-through (30.00 EUR G on 2025-03-10: AMO 21.00, TM 9.00, PF 2.00
as patient debt), replays it, then sends a malformed claim and checks the
fields named by the google.rpc.BadRequest it gets back. The server's clock
must be fixed at 2025-03-11T09:00:00Z. It prints what it checks and exits 1
on the first mismatch.
"""

import importlib
import keyword
import os
import sys
import uuid

NIR = "185057800608491"  # 1 85 05 78 006 084, key 91
BAD_NIR = "185057800608492"  # same, wrong key
TIMEOUT = 10  # seconds per call


class Mismatch(Exception):
    pass


def check(what, got, want):
    if got != want:
        raise Mismatch("%s: got %r, want %r" % (what, got, want))
    print("ok  %s = %r" % (what, got))


def load_stubs(stubdir):
    sys.path.insert(0, stubdir)
    import google

    # protoc also wrote the vendored google/rpc/status.proto of proto/ under
    # STUBDIR/google: let the google package Debian's protobuf installs find it.
    extra = os.path.join(stubdir, "google")
    if os.path.isdir(extra) and extra not in list(google.__path__):
        google.__path__.append(extra)
    from tierspayant.v1 import beneficiaries_pb2, claims_pb2, common_pb2
    from tpclient import rpc_status_pb2

    # Every module of the package, for check_python_names.
    package = os.path.join(stubdir, "tierspayant", "v1")
    modules = [
        importlib.import_module("tierspayant.v1." + name[: -len(".py")])
        for name in sorted(os.listdir(package))
        if name.endswith("_pb2.py")
    ]
    return beneficiaries_pb2, claims_pb2, common_pb2, rpc_status_pb2, modules


def check_python_names(modules):
    """Every field of the API must be usable as a keyword argument and an
    attribute in Python: no field named after a Python keyword."""
    bad, seen = [], []

    def visit(desc):
        seen.append(desc.full_name)
        for field in desc.fields:
            if keyword.iskeyword(field.name):
                bad.append("%s.%s" % (desc.full_name, field.name))
        for nested in desc.nested_types:
            visit(nested)

    for module in modules:
        for desc in module.DESCRIPTOR.message_types_by_name.values():
            visit(desc)
    if bad:
        raise Mismatch("fields named after a Python keyword (unusable as keyword arguments): %s" % ", ".join(bad))
    print("ok  no field of the %d messages of %d files is a Python keyword" % (len(seen), len(modules)))


def method(channel, path, request, response):
    return channel.unary_unary(
        path,
        request_serializer=request.SerializeToString,
        response_deserializer=response.FromString,
    )


def rpps(n):
    """An RPPS number: 11 digits, the last the Luhn key of the first ten."""
    body = "1%09d" % (n % 1000000000)
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def gp_claim(claims_pb2, common_pb2, claim_id, professional):
    """The GP consultation of the README's walk-through (docs/rules.md#ex-1)."""
    from google.protobuf import timestamp_pb2

    return claims_pb2.Claim(
        claim_id=claim_id,
        created_at=timestamp_pb2.Timestamp(seconds=1741600800),  # 2025-03-10T10:00:00Z
        professional=common_pb2.Professional(
            id=professional,
            id_kind=common_pb2.PROFESSIONAL_ID_KIND_RPPS,
            profession=common_pb2.PROFESSION_PHYSICIAN,
            departement="75",
        ),
        identification=claims_pb2.Identification(
            kind=claims_pb2.IDENTIFICATION_KIND_VITALE_CARD, value="1234567890"
        ),
        nir=NIR,
        nature=claims_pb2.INSURANCE_NATURE_MALADIE,
        mode=claims_pb2.TIERS_PAYANT_MODE_AMO_ONLY,
        lines=[
            claims_pb2.ClaimLine(
                line_id="1",
                code="G",
                category=claims_pb2.CATEGORY_PHYSICIAN,
                care_date="2025-03-10",
                unit_price="30.00",
                quantity=1,
                parcours=claims_pb2.PARCOURS_RESPECTED,
            )
        ],
    )


def field_violations(err, rpc_status_pb2):
    """The fields named by the google.rpc.BadRequest details of an RPC error,
    decoded from its grpc-status-details-bin trailer."""
    trailer = dict(err.trailing_metadata() or ())
    raw = trailer.get("grpc-status-details-bin")
    if raw is None:
        raise Mismatch("no grpc-status-details-bin trailer in %r" % (trailer,))
    status = rpc_status_pb2.Status.FromString(raw)
    check("google.rpc.Status.code", status.code, err.code().value[0])
    check("google.rpc.Status.message", status.message, err.details())
    fields, descriptions = [], []
    for detail in status.details:
        if detail.type_url.rsplit("/", 1)[-1] != "google.rpc.BadRequest":
            continue
        bad_request = rpc_status_pb2.BadRequest.FromString(detail.value)
        for violation in bad_request.field_violations:
            fields.append(violation.field)
            descriptions.append(violation.description)
    return status, fields, descriptions


def run(addr, stubdir):
    import grpc

    beneficiaries_pb2, claims_pb2, common_pb2, rpc_status_pb2, modules = load_stubs(stubdir)
    check_python_names(modules)

    nonce = uuid.uuid4().hex[:12].upper()
    professional, organism = rpps(int(nonce, 16)), "CPAM75-PY" + nonce
    channel = grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)])
    grpc.channel_ready_future(channel).result(timeout=TIMEOUT)

    upsert = method(
        channel,
        "/tierspayant.v1.BeneficiaryService/UpsertBeneficiary",
        beneficiaries_pb2.UpsertBeneficiaryRequest,
        beneficiaries_pb2.UpsertBeneficiaryResponse,
    )
    adjudicate = method(
        channel,
        "/tierspayant.v1.ClaimService/Adjudicate",
        claims_pb2.AdjudicateRequest,
        claims_pb2.AdjudicateResponse,
    )

    # Register the beneficiary of the walk-through.
    always = beneficiaries_pb2.DatePeriod(start="2020-01-01")
    beneficiary = beneficiaries_pb2.Beneficiary(
        nir=NIR,
        birth_date="1985-05-20",
        rights=[always],
        organisms=[beneficiaries_pb2.OrganismAttachment(organism_code=organism, period=always)],
        has_medecin_traitant=True,
    )
    registered = upsert(beneficiaries_pb2.UpsertBeneficiaryRequest(beneficiary=beneficiary), timeout=TIMEOUT)
    if not registered.beneficiary_ref or NIR in registered.beneficiary_ref:
        raise Mismatch("beneficiary_ref %r: want an opaque reference" % registered.beneficiary_ref)
    print("ok  registered beneficiary %s" % registered.beneficiary_ref)

    # Adjudicate the GP consultation.
    claim = gp_claim(claims_pb2, common_pb2, professional + "-F0001", professional)
    decision = adjudicate(claims_pb2.AdjudicateRequest(claim=claim), timeout=TIMEOUT).decision
    check("decision.status", claims_pb2.DecisionStatus.Name(decision.status), "DECISION_STATUS_ACCEPTED")
    check("decision.guarantee", claims_pb2.Guarantee.Name(decision.guarantee), "GUARANTEE_GUARANTEED")
    check("decision.replayed", decision.replayed, False)
    check("decision.due_date", decision.due_date, "2025-03-20")
    check("decision.managing_organism", decision.managing_organism, organism)
    check("decision.debt_balance", decision.debt_balance, "2.00")
    check("len(decision.lines)", len(decision.lines), 1)
    line = decision.lines[0]
    check("lines[0].base", line.base, "30.00")
    check("lines[0].amo", line.amo, "21.00")
    check("lines[0].ticket_moderateur", line.ticket_moderateur, "9.00")
    check("lines[0].participation_forfaitaire", line.participation_forfaitaire, "2.00")
    check("totals.amo", decision.totals.amo, "21.00")
    check("totals.payable_to_professional", decision.totals.payable_to_professional, "21.00")
    check("totals.patient_debt", decision.totals.patient_debt, "2.00")
    print("ok  AMO %s for the 30.00 EUR consultation" % decision.totals.amo)

    # The same claim again: the stored decision, nothing counted twice.
    again = adjudicate(claims_pb2.AdjudicateRequest(claim=claim), timeout=TIMEOUT).decision
    check("replay: decision.replayed", again.replayed, True)
    check("replay: totals.amo", again.totals.amo, "21.00")
    check("replay: debt_balance", again.debt_balance, decision.debt_balance)

    # A malformed claim: INVALID_ARGUMENT with a BadRequest naming each field.
    bad = gp_claim(claims_pb2, common_pb2, professional + "-BAD1", professional)
    bad.nir = BAD_NIR
    bad.lines[0].unit_price = "trente"
    try:
        adjudicate(claims_pb2.AdjudicateRequest(claim=bad), timeout=TIMEOUT)
    except grpc.RpcError as err:
        check("malformed claim: code", err.code(), grpc.StatusCode.INVALID_ARGUMENT)
        status, fields, descriptions = field_violations(err, rpc_status_pb2)
        print("ok  field violations %s" % fields)
        for want in ("claim.nir", "claim.lines[0].unit_price"):
            if want not in fields:
                raise Mismatch("BadRequest names %s, want %s among them" % (fields, want))
        for text in [status.message] + descriptions:
            if BAD_NIR in text:
                raise Mismatch("the error echoes the NIR: %r" % text)
    else:
        raise Mismatch("malformed claim accepted")
    channel.close()


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        run(argv[1], argv[2])
    except Mismatch as m:
        print("MISMATCH %s" % m)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
