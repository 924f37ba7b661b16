from django import template

from evidence.measures import drilldown, measure_words, measured_from

register = template.Library()


@register.filter
def measured_words(summary, measured_by: str) -> str:
    """A measured occurrence's stored measure in words: {{ occ.measure|measured_words:kind }}
    (evidence/measures.py)."""
    return measure_words(measured_by, summary)


@register.simple_tag
def measure_drilldown(measured_by, slug, contract_id, occurrence_id):
    """{"url", "words"} of the page of rows behind a measured occurrence, or None."""
    found = drilldown(measured_by, slug, contract_id, occurrence_id)
    return None if found is None else {"url": found[0], "words": found[1]}


@register.simple_tag
def measured_rule(commitment, slug, contract_id):
    """{"url", "title", "rule"} of what a measured commitment is measured from, or None."""
    return measured_from(commitment, slug, contract_id)
