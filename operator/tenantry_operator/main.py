"""Kopf wiring only: settings and thin handlers over `reconcile`.

Kopf's own bookkeeping (progress, last-handled spec) goes to annotations under tenantry.dev, so
`.status` holds only API-convention fields that we write ourselves.
"""
import logging

import django
import kopf

django.setup()  # the provisioning service is Django code; settings come from the environment

from tenantry.tenancy.services import release_tenant  # noqa: E402
from tenantry_operator import GROUP, PLURAL, VERSION  # noqa: E402
from tenantry_operator.config import OperatorConfig  # noqa: E402
from tenantry_operator.kube import Applier, load_configuration  # noqa: E402
from tenantry_operator.reconcile import Resource, reconcile  # noqa: E402

CONFIG = OperatorConfig.from_env()
RETRY_DELAY_SECONDS = 10
applier: Applier | None = None


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_) -> None:
    global applier
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration")
    settings.posting.level = logging.INFO
    load_configuration()
    applier = Applier()


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def reconcile_tenant(namespace, name, uid, spec, meta, status, patch, logger, **_) -> None:
    tenant = Resource(namespace=namespace, name=name, uid=uid, generation=meta["generation"], spec=dict(spec),
                      status=dict(status))
    result = reconcile(tenant, CONFIG, applier.apply)
    patch.status.update(result.status)
    if result.error and result.permanent:
        raise kopf.PermanentError(result.error)
    if result.error:
        raise kopf.TemporaryError(result.error, delay=RETRY_DELAY_SECONDS)
    logger.info("tenant %s/%s is %s", namespace, name, result.status["phase"])


@kopf.on.delete(GROUP, VERSION, PLURAL)
def release(namespace, name, spec, **_) -> None:
    release_tenant(f"{namespace}/{name}", drop_schema=spec.get("deletionPolicy") == "Delete")
