from django import template

from tenantry.system.selectors import site_announcement as announcement

register = template.Library()


@register.simple_tag
def site_announcement() -> str:
    """Used by the base template, so every page shows the banner without a context processor."""
    return announcement()
