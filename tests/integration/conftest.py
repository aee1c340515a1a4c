import uuid
from types import SimpleNamespace

import pytest

from tests.factories import CategoryFactory, CustomerFactory

from .support import Cluster, make_audience, make_policies


@pytest.fixture
def cluster(transactional_db, django_db_serialized_rollback, tmp_path):
    """Real Celery workers (started by the test) on a queue and Redis key prefix of this test
    alone, against this test's database; stopped and their keys deleted afterwards, before the
    database is flushed."""
    cluster = Cluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.close()
        print(cluster.logs())  # shown when the test failed


@pytest.fixture
def due(db):
    """A department (head, a member, a member without email), the managers and crisis lists,
    a category with 24x7 minute policies, a customer."""
    prefix = uuid.uuid4().hex[:6]
    audience = make_audience(prefix)
    category = CategoryFactory(code=f"{prefix}-lift", default_department=audience.department)
    return SimpleNamespace(
        prefix=prefix,
        audience=audience,
        category=category,
        policies=make_policies(category),
        customer=CustomerFactory(),
    )
