"""SAM's transform, offline: runs samtranslator (the library behind CloudFormation's
AWS::Serverless transform) on a SAM template and prints the CloudFormation it makes, as
JSON. No AWS account: each function's local code is given the S3 location `sam deploy`
would upload it to, managed policies resolve to nothing (the template uses none), the
region is us-east-1.

    .venv/bin/python scripts/transform.py [template.yaml] > transformed.json
    .venv/bin/python scripts/transform.py --expanded [template.yaml]   # before SAM's transform

The template uses AWS::LanguageExtensions (its alarms' `Fn::ForEach` loops): that transform
runs first, as CloudFormation runs it, through SAM CLI's implementation of it.
"""

import json
import os
import sys

from samcli.lib.cfn_language_extensions.models import TemplateProcessingContext
from samcli.lib.cfn_language_extensions.processors.foreach import ForEachProcessor
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no AWS managed policy; SAM asks for the list all the same."""

    def load(self):
        return {}


def expanded(template_text, read_mappings=True):
    """The template as SAM's transform receives it from AWS::LanguageExtensions: each
    `Fn::ForEach` loop expanded (by SAM CLI's implementation of it), `Fn::GetAtt` of a literal
    `Fn::Sub` made plain, and (with `read_mappings`, as CloudFormation does when it deploys)
    each `Fn::FindInMap` of literal keys read from the Mappings.
    Nothing else is resolved: parameters stay parameters (SAM CLI's full local pipeline
    would put in their defaults)."""
    context = TemplateProcessingContext(fragment=yaml_parse(template_text))
    ForEachProcessor().process_template(context)
    template = context.fragment
    mappings = template.get("Mappings", {})

    def resolve(node):
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        keys = node.get("Fn::FindInMap") if len(node) == 1 else None
        if read_mappings and isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            name, top, second = keys
            return mappings[name][top][second]
        target = node.get("Fn::GetAtt") if len(node) == 1 else None
        if isinstance(target, list) and isinstance(target[0], dict):
            name = target[0].get("Fn::Sub")
            if isinstance(name, str) and "${" not in name:
                return {"Fn::GetAtt": [name, *target[1:]]}
        return {key: resolve(value) for key, value in node.items()}

    template["Resources"] = resolve(template["Resources"])
    return template


def main():
    args = [a for a in sys.argv[1:] if a != "--expanded"]
    path = args[0] if args else "template.yaml"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "--expanded" in sys.argv[1:]:
        json.dump(expanded(text), sys.stdout, indent=1, default=str)
        print()
        return
    template = expanded(text, read_mappings=False)
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and not str(
            properties.get("CodeUri", "")
        ).startswith("s3://"):
            properties["CodeUri"] = f"s3://sam-artifacts/{name}.zip"
    transformed = transform(template, {}, NoManagedPolicies())
    json.dump(transformed, sys.stdout, indent=1, sort_keys=True, default=str)
    print()


if __name__ == "__main__":
    main()
