"""SAM's transform, offline: runs samtranslator (the library behind CloudFormation's
AWS::Serverless transform) on a SAM template and prints the CloudFormation it makes, as
JSON. No AWS account: each function's local code is given the S3 location `sam deploy`
would upload it to, managed policies resolve to nothing (the template uses none), the
region is us-east-1.

    .venv/bin/python scripts/transform.py [template.yaml] > transformed.json
"""

import json
import os
import sys

from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no AWS managed policy; SAM asks for the list all the same."""

    def load(self):
        return {}


def expanded(template_text):
    """The template as CloudFormation reads it before SAM's transform: AWS::LanguageExtensions
    (`Fn::ForEach`) expanded by SAM CLI's own implementation of it."""
    template = yaml_parse(template_text)
    return expand_language_extensions(template, enabled=True).expanded_template


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as f:
        template = expanded(f.read())
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
