from django import template

from evidence.patches import summary_words

register = template.Library()


@register.filter
def patch_measure_words(summary) -> str:
    """An occurrence's stored patch measure in words (evidence/patches.py summary_words)."""
    return summary_words(summary)
