"""Upload a contract file in the browser: parse it, check it is this contract's, apply it."""

from __future__ import annotations

from django import forms

from contracts.contract_file import ContractFile, ContractFileError, contract_file_parse
from contracts.models import Contract
from contracts.services.contract_apply import ApplyResult, contract_apply

MAX_BYTES = 512 * 1024  # a contract file is a page of text; anything larger is not one


class ContractUploadForm(forms.Form):
    """A contract file (YAML or JSON) for the contract whose page it is uploaded on."""

    file = forms.FileField(label="Contract file", help_text="YAML or JSON, as downloaded")

    def __init__(self, *args, contract: Contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract = contract
        self.parsed: ContractFile | None = None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("This file is too large to be a contract file.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("This file is not text (UTF-8).") from None
        try:
            parsed = contract_file_parse(text, filename=upload.name.lower())
        except ContractFileError as exc:
            raise forms.ValidationError(exc.problems) from None
        problems = self._same_contract(parsed)
        if problems:
            raise forms.ValidationError(problems)
        self.parsed = parsed
        return upload

    def _same_contract(self, parsed: ContractFile) -> list[str]:
        """The file must name this contract and its parties as they are: it changes the rules
        of this contract only, and never another organisation's name."""
        c = self.contract
        problems = []
        if parsed.client.slug != c.client.slug:
            problems.append(f"client.slug: this page is for {c.client.slug}")
        if (parsed.msp.slug, parsed.msp.name) != (c.msp.slug, c.msp.name):
            problems.append(f"msp: this contract's MSP is {c.msp.slug} ({c.msp.name})")
        advisor = (parsed.advisor.slug, parsed.advisor.name) if parsed.advisor else None
        if advisor != ((c.advisor.slug, c.advisor.name) if c.advisor else None):
            problems.append(
                "advisor: this contract's advisory firm is "
                + (f"{c.advisor.slug} ({c.advisor.name})" if c.advisor else "none")
            )
        if parsed.contract.name != c.name:
            problems.append(f"contract.name: this contract is named '{c.name}'")
        return problems

    def apply(self, *, actor) -> ApplyResult:
        assert self.parsed is not None  # only after is_valid()
        return contract_apply(data=self.parsed, actor=actor, source="web")
