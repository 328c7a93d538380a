"""The event contract: the schema registry (`registry`), Avro single-object framing (`codec`) and
the envelope every event carries (`envelope`)."""

from shared.contract.codec import DecodeError, decode, encode
from shared.contract.envelope import build_event, envelope
from shared.contract.registry import Contract, ContractError, Envelope, contract, contracts

__all__ = ["Contract", "ContractError", "DecodeError", "Envelope", "build_event", "contract", "contracts", "decode",
           "encode", "envelope"]
