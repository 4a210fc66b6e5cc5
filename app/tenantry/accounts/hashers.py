"""Password hashing with Argon2id at a cost this product can afford at every log-in.

Django's default, PBKDF2 at a million iterations, cost 0.46 s of CPU per log-in: under the load test
that was 4.4 ms of every request's 15 (docs/performance.md). Argon2id at OWASP's minimum
configuration (19 MiB, two passes, one lane) costs about 0.035 s and OWASP rates it as strong as
PBKDF2 at 600,000 iterations; it is memory-hard as well, which PBKDF2 is not. The costs are settings
so an operator with CPU to spare can raise them: existing hashes are upgraded at the next log-in
(Django's must_update), as are the PBKDF2 hashes of users who signed up before this hasher.
"""
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class TenantryArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's Argon2id hasher (same algorithm name, same encoded form) with costs from settings."""

    @property
    def time_cost(self) -> int:
        return settings.TENANTRY_ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:
        return settings.TENANTRY_ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:
        return settings.TENANTRY_ARGON2_PARALLELISM
