"""A SASL_SSL listener for the local broker: a CA and a broker certificate generated at start
(`cryptography`), SCRAM-SHA-512 users created when the storage is formatted, PLAIN users in the
listener's JAAS, and KRaft's StandardAuthorizer, so that each principal may do only what its ACLs
(`careflow acl plan`) allow. The controller listener stays PLAINTEXT on the loopback interface."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

ADMIN = "admin"


@dataclass
class BrokerSecurity:
    """The users (name → password) the broker knows; `admin` is its super user."""

    users: dict[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    keystore: Path | None = None
    keystore_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def __post_init__(self):
        self.users.setdefault(ADMIN, secrets.token_urlsafe(16))

    def generate_tls(self, workdir: Path) -> None:
        """A CA valid for two days and a broker certificate for 127.0.0.1 and localhost, in a PKCS12 keystore."""
        now = dt.datetime.now(dt.timezone.utc)
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "careflow local CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
              .not_valid_after(now + dt.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(ca_key, hashes.SHA256()))
        broker = (x509.CertificateBuilder()
                  .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                  .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                  .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
                  .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                              x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                 critical=False)
                  .sign(ca_key, hashes.SHA256()))
        self.ca_file, self.keystore = workdir / "ca.pem", workdir / "broker.p12"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.keystore.write_bytes(pkcs12.serialize_key_and_certificates(
            b"broker", key, broker, [ca], serialization.BestAvailableEncryption(self.keystore_password.encode())))

    def properties(self, port: int, controller_port: int) -> list[str]:
        admin = self.users[ADMIN]
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in self.users.items())
        return [
            f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=SASL_SSL",
            "sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram."
            f'ScramLoginModule required username="{ADMIN}" password="{admin}";',
            "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
            f'required username="{ADMIN}" password="{admin}" {plain_users};',
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={self.keystore}",
            f"ssl.keystore.password={self.keystore_password}",
            f"ssl.key.password={self.keystore_password}",
            # The broker checks its own certificate (and the inter-broker connections) against the CA.
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # ANONYMOUS: the broker's own requests to its controller, over the loopback PLAINTEXT listener.
            f"super.users=User:{ADMIN};User:ANONYMOUS",
            "allow.everyone.if.no.acl.found=false",
        ]

    def format_args(self) -> list[str]:
        """kafka-storage format's arguments that create the SCRAM users with the metadata."""
        return [arg for name, password in self.users.items()
                for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")]

    def client(self, bootstrap: str, user: str = ADMIN, password: str | None = None, **overrides) -> dict:
        """librdkafka's settings for `user` (the admin by default) on this broker."""
        return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": user, "sasl.password": password if password is not None else self.users[user],
                "ssl.ca.location": str(self.ca_file), **overrides}

    def environment(self, user: str) -> dict[str, str]:
        """CAREFLOW_KAFKA_* variables that make careflow's clients connect as `user`."""
        return {"CAREFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CAREFLOW_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "CAREFLOW_KAFKA_SASL_USERNAME": user, "CAREFLOW_KAFKA_SASL_PASSWORD": self.users[user],
                "CAREFLOW_KAFKA_SSL_CA_FILE": str(self.ca_file)}

    def grant(self, bootstrap: str, acls) -> None:
        """Creates the ACLs (shared.kafka.acls) as the admin."""
        from confluent_kafka.admin import AdminClient

        from shared.kafka.acls import bindings

        admin = AdminClient(self.client(bootstrap))  # kept alive until its futures are done
        for future in admin.create_acls(bindings(acls)).values():
            future.result()
