# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated AWX controller: the part of AWX 24's /api/v2/ REST API the awx.awx modules of the registration playbook
use (credential_type, execution_environment, project, job_template, workflow_job_template, and workflow_job_template_node
for the approval templates of approval nodes), in a thread.

With a token the modules ask nothing first (no ping, config or me): each request carries ``Authorization: Bearer``,
and the first answer's X-API-Product-* headers are checked against the collection's version. Objects answer with the
fields AWX's serializers show, the values AWX gives the fields a request leaves out, and the read-only fields AWX
computes; a request is refused (400) for what AWX's serializers refuse among what these modules can send. Every
request is recorded as (method, path with its query), for the tests to see what was written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import hashlib
import http.server
import json
import re
import threading
import urllib.parse
import uuid

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from port_support import free_port

API = "/api/v2/"
# The AWX release awx.awx 24.6.1 comes from; the modules warn when the controller's major version differs.
VERSION = "24.6.1"
START_ATTEMPTS = 5
# AWX pages every list by 25 unless asked otherwise; the modules follow `next`.
PAGE_SIZE = 25

JOB_TEMPLATE_PROMPTS = ("scm_branch", "diff_mode", "variables", "limit", "tags", "skip_tags", "job_type", "verbosity", "inventory",
                        "credential", "execution_environment", "labels", "forks", "job_slice_count", "timeout", "instance_groups")
WORKFLOW_PROMPTS = ("variables", "inventory", "scm_branch", "limit", "labels", "tags", "skip_tags")
# The writable fields of each kind of object, with the value AWX gives one that a creation leaves out. A field AWX
# does not know is ignored, as Django REST framework does: a module sending one would then see it differ at every run.
# None: no default of a type to check against.
FIELDS = {
    "organizations": {"description": ""},
    "inventories": {"description": "", "organization": None},
    "credentials": {"description": "", "organization": None},
    "credential_types": {"description": "", "kind": "", "inputs": {}, "injectors": {}},
    "execution_environments": {"description": "", "organization": None, "image": "", "credential": None, "pull": ""},
    "projects": {
        "description": "", "local_path": "", "scm_type": "", "scm_url": "", "scm_branch": "", "scm_refspec": "", "scm_clean": False,
        "scm_track_submodules": False, "scm_delete_on_update": False, "credential": None, "timeout": 0, "organization": None,
        "scm_update_on_launch": False, "scm_update_cache_timeout": 0, "allow_override": False, "default_environment": None,
        "signature_validation_credential": None,
    },
    "job_templates": dict({
        "description": "", "job_type": "run", "inventory": None, "project": None, "playbook": "", "scm_branch": "", "forks": 0, "limit": "",
        "verbosity": 0, "extra_vars": "", "job_tags": "", "force_handlers": False, "skip_tags": "", "start_at_task": "", "timeout": 0,
        "use_fact_cache": False, "execution_environment": None, "host_config_key": "", "survey_enabled": False, "become_enabled": False,
        "diff_mode": False, "allow_simultaneous": False, "job_slice_count": 1, "webhook_service": "", "webhook_credential": None,
        "prevent_instance_group_fallback": False,
    }, **dict(("ask_%s_on_launch" % prompt, False) for prompt in JOB_TEMPLATE_PROMPTS)),
    "workflow_job_templates": dict({
        "description": "", "extra_vars": "", "organization": None, "inventory": None, "survey_enabled": False, "allow_simultaneous": False, "limit": None,
        "scm_branch": None, "job_tags": None, "skip_tags": None, "webhook_service": "", "webhook_credential": None,
    }, **dict(("ask_%s_on_launch" % prompt, False) for prompt in WORKFLOW_PROMPTS)),
    "workflow_job_template_nodes": {
        "workflow_job_template": None, "unified_job_template": None, "identifier": None, "extra_data": {}, "all_parents_must_converge": False,
        "inventory": None, "scm_branch": None, "job_type": None, "job_tags": None, "skip_tags": None, "limit": None, "diff_mode": None,
        "verbosity": None, "execution_environment": None, "forks": None, "job_slice_count": None, "timeout": None,
    },
    # What an approval node runs; made through its node's create_approval_template.
    "workflow_approval_templates": {"description": "", "timeout": 0},
}
# Read-only fields AWX computes, with their value for an object the simulator makes; a request setting them is ignored.
READ_ONLY = {
    "credentials": {"kind": ""},
    "credential_types": {"managed": False, "namespace": None},
    "execution_environments": {"managed": False},
    "projects": {"scm_revision": "", "status": "never updated"},
    # A job template belongs to its project's organization.
    "job_templates": {"organization": None},
}
TYPES = {
    "organizations": "organization", "inventories": "inventory", "credentials": "credential", "credential_types": "credential_type",
    "execution_environments": "execution_environment", "projects": "project", "job_templates": "job_template",
    "workflow_job_templates": "workflow_job_template", "workflow_job_template_nodes": "workflow_job_template_node",
    "workflow_approval_templates": "workflow_approval_template",
}
REQUIRED = {"execution_environments": ("name", "image"), "credential_types": ("name", "kind"), "workflow_job_template_nodes": ("workflow_job_template",)}
# The objects that are unified job templates (/unified_job_templates/, a node's unified_job_template).
UNIFIED_JOB_TEMPLATES = ("projects", "job_templates", "workflow_job_templates", "workflow_approval_templates")
REFERENCES = {
    "organization": ("organizations",), "inventory": ("inventories",), "project": ("projects",),
    "credential": ("credentials",), "webhook_credential": ("credentials",), "signature_validation_credential": ("credentials",),
    "execution_environment": ("execution_environments",), "default_environment": ("execution_environments",),
    "workflow_job_template": ("workflow_job_templates",), "unified_job_template": UNIFIED_JOB_TEMPLATES,
}
# What identifies an object among its kind: AWX's unique constraints.
IDENTITY = {
    "credential_types": ("name", "kind"),
    "workflow_job_template_nodes": ("workflow_job_template", "identifier"),
    # Approval templates have no organization, and their names need not be unique (a copied workflow's are not).
    "workflow_approval_templates": (),
}
SUBLISTS = {
    "job_templates": ("credentials",),
    "workflow_job_template_nodes": ("success_nodes", "failure_nodes", "always_nodes"),
}
NODE_LINKS = SUBLISTS["workflow_job_template_nodes"]
SURVEYS = ("job_templates", "workflow_job_templates")
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int, "float": (float, int)}
# A change of these starts a project update (awx.main.models.Project.FIELDS_TRIGGER_UPDATE).
FIELDS_TRIGGER_UPDATE = ("scm_url", "scm_branch", "scm_type", "scm_refspec")
# The credential kinds a job template runs with (JobTemplateCredentialsList).
JOB_CREDENTIAL_KINDS = ("ssh", "vault", "cloud", "net", "kubernetes")
CREDENTIAL_INPUT_KEYS = ("id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime", "default")
VARIABLE_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
FILE_INJECTOR = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
UNAUTHENTICATED = "Authentication credentials were not provided. To establish a login session, visit /api/login/."
NOT_FOUND = "The requested resource could not be found."


class Refusal(Exception):
    """An answer other than success: the HTTP status and AWX's JSON body."""

    def __init__(self, status, body):
        super(Refusal, self).__init__(status, body)
        self.status = status
        self.body = body


def _bad_request(field, message):
    return Refusal(400, {field: [message]})


def _type_error(field, default, value):
    """Django REST framework's refusal of a value of the wrong type for a field whose default is `default`, or None."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else _bad_request(field, "Must be a valid boolean.")
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else _bad_request(field, "A valid integer is required.")
    if isinstance(default, str):
        return None if isinstance(value, str) else _bad_request(field, "Not a valid string.")
    if isinstance(default, dict):
        return None if isinstance(value, dict) else _bad_request(field, "Expected a dictionary of items.")
    return None


def survey_errors(spec):
    """What AWX's JobTemplateSurveySpec._validate_spec_data says of a survey spec, or None; like AWX, it normalizes a
    multiselect's default (a line per choice) in place."""
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            return "Field '%s' is missing from survey spec, or not a %s." % (field, kind.__name__)
    if not spec["spec"]:
        return "'spec' doesn't contain any items."
    variables = set()
    for index, question in enumerate(spec["spec"]):
        for field, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            if not isinstance(question.get(field), kind):
                return "'%s' missing from survey question %d, or not a %s." % (field, index, kind.__name__)
        if question["variable"] in variables:
            return "'variable' '%s' duplicated in survey question %d." % (question["variable"], index)
        variables.add(question["variable"])
        qtype = question["type"]
        if qtype not in SURVEY_TYPES:
            return "'%s' in survey question %d is not one of the allowed question types." % (qtype, index)
        default = question.get("default", "")
        if default != "" and not isinstance(default, SURVEY_TYPES[qtype]):
            return "Default value %s in survey question %d expected to be %s." % (default, index, qtype)
        if any(question.get(bound) is not None and not isinstance(question[bound], int) for bound in ("min", "max")):
            return "The limits in survey question %d expected to be integers." % index
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in question:
                return "Survey question %d of type %s must specify choices." % (index, qtype)
            if "default" in question:
                question["default"] = "\n".join(line for line in default.splitlines() if line.strip())
                defaults = question["default"].splitlines()
                if qtype == "multiplechoice" and len(defaults) > 1:
                    return "Multiple Choice (Single Select) can only have one default value."
                if any(choice not in question["choices"] for choice in defaults):
                    return "Default choice must be answered from the choices listed."
    return None


def injector_errors(inputs, injectors):
    """What AWX's CredentialTypeInputField and CredentialTypeInjectorField say of a credential type's inputs and
    injectors, or None. Like AWX, a field without a type becomes a string in place."""
    ids = []
    for field in inputs.get("fields", []):
        unknown = sorted(set(field) - set(CREDENTIAL_INPUT_KEYS))
        if unknown or "id" not in field or "label" not in field:
            return "inputs: a field has the id and label, and no other key than %s (%s)" % (", ".join(CREDENTIAL_INPUT_KEYS), field)
        if not VARIABLE_NAME.match(field["id"]) or field["id"] == "tower" or field["id"] in ids:
            return "inputs: %s is not a valid, unique and unreserved field id" % field["id"]
        ids.append(field["id"])
        field.setdefault("type", "string")
    if sorted(set(injectors) - {"file", "env", "extra_vars"}):
        return "injectors: only file, env and extra_vars"
    if any(not FILE_INJECTOR.match(name) for name in injectors.get("file", {})):
        return "injectors: the file injectors are template or template.<name>"
    if any(not VARIABLE_NAME.match(name) or name.startswith("ANSIBLE_") for name in injectors.get("env", {})):
        return "injectors: an environment variable is a shell variable name, not ANSIBLE_*"
    # The injectors are Jinja templates of the inputs, and of the files written for the file injectors.
    namespace = dict((field_id, "EXAMPLE") for field_id in ids)
    files = list(injectors.get("file", {}))
    if files:
        namespace["tower"] = {"filename": "EXAMPLE_FILENAME" if files == ["template"] else dict((name[len("template."):], "EXAMPLE") for name in files)}
    environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for section in ("file", "env"):
        for name, template in injectors.get(section, {}).items():
            try:
                environment.from_string(template).render(namespace)
            except TemplateError as error:
                return "injectors: %s uses an undefined field or is not a template (%s)" % (name, error)
    return None


class Controller:
    """The simulated controller's state, and its answer to each request. Objects of every kind share one sequence of
    ids (AWX's unified job templates share theirs)."""

    def __init__(self, token, playbooks):
        self.token = token
        # The playbooks a project update finds in the repository.
        self.playbooks = sorted(playbooks)
        self.requests = []
        self.objects = {}
        self.links = {}
        self.surveys = {}
        self.updates = {}
        # A project's update in progress, and the playbooks its last update found.
        self.current_updates = {}
        self.playbook_files = {}
        self._next_id = 0
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- what tests read and seed

    def seed(self, collection, name, **fields):
        """An object as if made in the controller beforehand (an organization, an inventory, a credential); its id."""
        obj = self._blank(collection)
        obj.update(fields, id=self._new_id(), name=name)
        self.objects[obj["id"]] = obj
        return obj["id"]

    def find(self, collection, **fields):
        """The representations of the objects of a kind with these field values."""
        with self._lock:
            return [self._show(obj) for obj in self._of(collection) if all(obj.get(key) == value for key, value in fields.items())]

    def one(self, collection, **fields):
        found = self.find(collection, **fields)
        assert len(found) == 1, "%s %r: %d found" % (collection, fields, len(found))
        return found[0]

    def name_of(self, object_id):
        return self.objects[object_id]["name"]

    def survey(self, object_id):
        return copy.deepcopy(self.surveys.get(object_id, {}))

    def linked(self, object_id, relation):
        """The ids an object's sublist (a job template's credentials, a node's success_nodes...) holds."""
        return list(self.links.get((object_id, relation), []))

    # ----------------------------------------------------------------- answering requests

    def answer(self, method, path, query, body, authorization):
        """(status, JSON body or None) for a request."""
        with self._lock:
            self.requests.append((method, path + ("?" + query if query else "")))
            if authorization != "Bearer " + self.token:
                return 401, {"detail": UNAUTHENTICATED}
            try:
                if not path.startswith(API):
                    raise Refusal(404, {"detail": NOT_FOUND})
                try:
                    data = json.loads(body) if body else {}
                except ValueError as error:
                    raise Refusal(400, {"detail": "JSON parse error - %s" % error})
                if not isinstance(data, dict):
                    raise Refusal(400, {"detail": "JSON parse error - the body is not an object."})
                return self._route(method, path, urllib.parse.parse_qs(query), data)
            except Refusal as refusal:
                return refusal.status, refusal.body

    def _route(self, method, path, query, data):
        parts = path[len(API):].strip("/").split("/")
        collection, rest = parts[0], parts[1:]
        if collection == "unified_job_templates" and not rest:
            self._allow(method, "GET")
            return 200, self._list(path, self._unified_job_templates(), query)
        if collection == "project_updates" and len(rest) == 1:
            self._allow(method, "GET")
            return 200, self._project_update(rest[0])
        if collection not in FIELDS or len(rest) > 2:
            raise Refusal(404, {"detail": NOT_FOUND})
        if not rest:
            self._allow(method, "GET", "POST")
            if method == "GET":
                return 200, self._list(path, self._of(collection), query)
            return 201, self._show(self._create(collection, data))
        obj = self._get(collection, rest[0])
        if len(rest) == 1:
            self._allow(method, "GET", "PATCH")
            if method == "PATCH":
                self._update(obj, data)
            return 200, self._show(obj)
        if rest[1] == "survey_spec" and collection in SURVEYS:
            self._allow(method, "GET", "POST")
            if method == "GET":
                # AWX shows a password question's default as $encrypted$; these surveys ask no password.
                return 200, self.survey(obj["id"])
            spec = copy.deepcopy(data)
            error = survey_errors(spec)
            if error:
                raise Refusal(400, {"error": error})
            self.surveys[obj["id"]] = spec
            return 200, None
        if rest[1] == "create_approval_template" and collection == "workflow_job_template_nodes":
            self._allow(method, "GET", "POST")
            if method == "GET":
                # WorkflowJobTemplateNodeCreateApprovalSerializer shows nothing.
                return 200, {}
            return 201, self._show(self._create_approval_template(obj, data))
        if rest[1] in SUBLISTS.get(collection, ()):
            self._allow(method, "GET", "POST")
            if method == "GET":
                return 200, self._list(path, [self.objects[sub_id] for sub_id in self.linked(obj["id"], rest[1])], query)
            self._attach(obj, rest[1], data)
            return 204, None
        raise Refusal(404, {"detail": NOT_FOUND})

    @staticmethod
    def _allow(method, *methods):
        if method not in methods:
            raise Refusal(405, {"detail": 'Method "%s" not allowed.' % method})

    def _new_id(self):
        self._next_id += 1
        return self._next_id

    def _of(self, collection):
        return [obj for obj in self.objects.values() if obj["collection"] == collection]

    def _unified_job_templates(self):
        return [obj for obj in self.objects.values() if obj["collection"] in UNIFIED_JOB_TEMPLATES]

    def _get(self, collection, object_id):
        obj = self.objects.get(int(object_id)) if object_id.isdigit() else None
        if obj is None or obj["collection"] != collection:
            raise Refusal(404, {"detail": "Not found."})
        return obj

    def _list(self, path, objects, query):
        """A page of a list, filtered by field values: the modules look objects up by name, identifier, organization,
        workflow job template and type."""
        page = int(query.pop("page", ["1"])[0])
        page_size = int(query.pop("page_size", [str(PAGE_SIZE)])[0])
        shown = [self._show(obj) for obj in sorted(objects, key=lambda obj: obj["id"])]
        for field, values in query.items():
            if any(field not in item for item in shown):
                raise Refusal(400, {"detail": "Invalid field name: %s" % field})
            shown = [item for item in shown if str(item[field]) in values]
        results = shown[(page - 1) * page_size:page * page_size]
        more = len(shown) > page * page_size
        next_query = urllib.parse.urlencode(dict(((field, values[0]) for field, values in query.items()), page=page + 1, page_size=page_size))
        return {"count": len(shown), "next": "%s?%s" % (path, next_query) if more else None,
                "previous": None if page == 1 else "%s?page=%d&page_size=%d" % (path, page - 1, page_size), "results": results}

    def _url(self, obj):
        return "%s%s/%d/" % (API, obj["collection"], obj["id"])

    def _show(self, obj):
        """An object as AWX's serializers show it."""
        shown = dict((field, copy.deepcopy(value)) for field, value in obj.items() if field != "collection")
        shown.update(type=TYPES[obj["collection"]], url=self._url(obj), related={}, summary_fields={})
        for field in REFERENCES:
            target = self.objects.get(obj.get(field))
            if field in obj and target is not None:
                shown["related"][field] = self._url(target)
                shown["summary_fields"][field] = {"id": target["id"], "name": target["name"]}
        for relation in SUBLISTS.get(obj["collection"], ()):
            shown["related"][relation] = self._url(obj) + relation + "/"
        if obj["collection"] in SURVEYS:
            shown["related"]["survey_spec"] = self._url(obj) + "survey_spec/"
        if obj["collection"] == "workflow_job_template_nodes":
            shown.update((relation, self.linked(obj["id"], relation)) for relation in NODE_LINKS)
        if obj["collection"] == "projects":
            shown["related"]["update"] = self._url(obj) + "update/"
            update = self.updates.get(self.current_updates.get(obj["id"]))
            if update is not None:
                shown["summary_fields"]["current_update"] = dict((key, update[key]) for key in ("id", "status", "failed"))
        return shown

    # ----------------------------------------------------------------- writes

    @staticmethod
    def _blank(collection):
        """A new object of a kind, with AWX's defaults; a node is named by its identifier, a random one by default."""
        obj = dict(FIELDS[collection], **READ_ONLY.get(collection, {}))
        obj.update(id=None, collection=collection)
        if collection == "workflow_job_template_nodes":
            obj["identifier"] = str(uuid.uuid4())
        else:
            obj["name"] = ""
        return obj

    def _create(self, collection, data):
        obj = self._blank(collection)
        missing = [field for field in REQUIRED.get(collection, ("name",)) if field not in data]
        if missing:
            raise _bad_request(missing[0], "This field is required.")
        self._write(obj, data, created=True)
        obj["id"] = self._new_id()
        self.objects[obj["id"]] = obj
        if collection == "projects" and obj["scm_type"]:
            self._start_project_update(obj)
        return obj

    def _update(self, obj, data):
        before = dict(obj)
        self._write(obj, data, created=False)
        if obj["collection"] == "projects" and obj["scm_type"] and any(before[field] != obj[field] for field in FIELDS_TRIGGER_UPDATE):
            self._start_project_update(obj)

    def _create_approval_template(self, node, data):
        """WorkflowJobTemplateNode.create_approval_template: a new approval template (name, description, timeout), which
        the node runs from then on. The modules make one only for a node that runs nothing yet."""
        template = self._create("workflow_approval_templates", data)
        node["unified_job_template"] = template["id"]
        return template

    def _write(self, obj, data, created):
        """Validate the writable fields of `data` and write them to `obj` (a copy, until all is valid)."""
        collection = obj["collection"]
        fields = dict(FIELDS[collection], **({"name": ""} if "name" in obj else {}))
        new = dict(obj)
        for field, value in data.items():
            # A node's workflow is set when it is made (WorkflowJobTemplateNodeSerializer.build_relational_field).
            if field not in fields or field == "workflow_job_template" and not created:
                continue
            default = fields[field]
            if field in REFERENCES and value is not None:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise _bad_request(field, "Incorrect type. Expected pk value, received %s." % type(value).__name__)
                target = self.objects.get(value)
                if target is None or target["collection"] not in REFERENCES[field]:
                    raise _bad_request(field, 'Invalid pk "%s" - object does not exist.' % value)
            else:
                error = _type_error(field, default, value)
                if error:
                    raise error
            # Django REST framework's CharField strips what it is given.
            new[field] = value.strip() if isinstance(value, str) else copy.deepcopy(value)
        getattr(self, "_check_" + collection, lambda new, data: None)(new, data)
        identity = IDENTITY.get(collection, ("name", "organization") if "organization" in new else ("name",))
        if identity and any(all(other[key] == new[key] for key in identity) for other in self._of(collection) if other["id"] != obj["id"]):
            raise Refusal(400, {"__all__": ["%s with this %s already exists." % (TYPES[collection], " and ".join(identity))]})
        obj.update(new)

    def _check_credential_types(self, new, data):
        if new["kind"] not in ("cloud", "net"):
            raise _bad_request("kind", "Must be 'cloud' or 'net', not %s" % new["kind"])
        error = injector_errors(new["inputs"], new["injectors"])
        if error:
            raise _bad_request("inputs" if error.startswith("inputs") else "injectors", error)

    def _check_execution_environments(self, new, data):
        credential = self.objects.get(new["credential"])
        if credential is not None and credential["kind"] != "registry":
            raise _bad_request("credential", "Only Container Registry credentials can be associated with an Execution Environment")

    def _check_job_templates(self, new, data):
        project = self.objects.get(new["project"])
        if project is None:
            raise _bad_request("project", "Job Templates must have a project assigned.")
        if new["inventory"] is None and not new["ask_inventory_on_launch"]:
            raise _bad_request("inventory", "You must either set a default value or ask to prompt on launch.")
        if not new["playbook"]:
            raise _bad_request("playbook", "Must select playbook for project.")
        # Checked against the playbooks the project's last update found.
        if project["scm_type"] and not project["allow_override"] and new["playbook"] not in self.playbook_files.get(project["id"], []):
            raise _bad_request("playbook", "Playbook not found for project.")
        new["organization"] = project["organization"]

    def _check_workflow_job_template_nodes(self, new, data):
        """A node's extra data as AWX takes it for a job template (SurveyJobTemplateMixin._accept_or_ignore_variables):
        a survey's variables with a valid answer, others only when the template asks for variables on launch."""
        template = self.objects.get(new["unified_job_template"])
        if "extra_data" not in data or template is None or template["collection"] != "job_templates":
            return
        questions = dict((question["variable"], question) for question in self.survey(template["id"]).get("spec", [])) if template["survey_enabled"] else {}
        errors, rejected = [], []
        for variable, value in new["extra_data"].items():
            question = questions.get(variable)
            if question is None:
                if not template["ask_variables_on_launch"]:
                    rejected.append(variable)
            elif question["type"] == "multiplechoice" and value not in question["choices"]:
                errors.append("Value %s for '%s' expected to be one of %s." % (value, variable, question["choices"]))
            elif question["type"] == "multiselect" and not (isinstance(value, list) and set(value) <= set(question["choices"])):
                errors.append("Value %s for '%s' expected to be a list of %s." % (value, variable, question["choices"]))
        if rejected:
            errors.append("Variables %s provided, but this template cannot accept them." % ", ".join(rejected))
        if errors:
            raise Refusal(400, {"extra_data": errors})

    def _attach(self, obj, relation, data):
        """POST {id} to a sublist: attach, or with `disassociate` detach (SubListCreateAttachDetachAPIView)."""
        sub_id = data.get("id")
        if not isinstance(sub_id, int) or isinstance(sub_id, bool):
            raise Refusal(400, {"msg": '"id" field must be an integer.'})
        sub = self.objects.get(sub_id)
        collection = "credentials" if relation == "credentials" else "workflow_job_template_nodes"
        if sub is None or sub["collection"] != collection:
            raise Refusal(400, {"detail": "Not found."})
        linked = self.links.setdefault((obj["id"], relation), [])
        if data.get("disassociate"):
            if sub_id in linked:
                linked.remove(sub_id)
            return
        if relation == "credentials":
            if sub["kind"] not in JOB_CREDENTIAL_KINDS:
                raise Refusal(400, {"error": "Cannot assign a Credential of kind `%s`." % sub["kind"]})
        else:
            self._check_node_link(obj, relation, sub)
        if sub_id not in linked:
            linked.append(sub_id)

    def _check_node_link(self, parent, relation, child):
        """WorkflowJobTemplateNodeChildrenBaseList.is_valid_relation, and the access check that keeps nodes in their
        workflow."""
        if child["workflow_job_template"] != parent["workflow_job_template"]:
            raise Refusal(403, {"detail": "You do not have permission to perform this action."})
        if any(child["id"] in self.linked(parent["id"], other) for other in NODE_LINKS if other != relation):
            raise Refusal(400, {"Error": "Relationship not allowed."})
        reached, pending = set(), [child["id"]]
        while pending:
            node_id = pending.pop()
            if node_id == parent["id"]:
                raise Refusal(400, {"Error": "Cycle detected."})
            if node_id not in reached:
                reached.add(node_id)
                pending.extend(sub_id for other in NODE_LINKS for sub_id in self.linked(node_id, other))

    # ----------------------------------------------------------------- project updates

    def _start_project_update(self, project):
        """AWX starts a project update when an SCM project is made or its source changes; the project shows it as its
        current update until it ends."""
        update_id = self._new_id()
        self.updates[update_id] = {"id": update_id, "type": "project_update", "project": project["id"], "status": "pending",
                                   "failed": False, "finished": None, "scm_revision": ""}
        self.current_updates[project["id"]] = update_id

    def _project_update(self, update_id):
        """A project update, which has run by the time it is asked for: it succeeds, and the project gets the playbooks
        of the repository."""
        update = self.updates.get(int(update_id)) if update_id.isdigit() else None
        if update is None:
            raise Refusal(404, {"detail": "Not found."})
        project = self.objects[update["project"]]
        if update["status"] == "pending":
            revision = hashlib.sha1(("%s@%s" % (project["scm_url"], project["scm_branch"])).encode("utf-8"), usedforsecurity=False).hexdigest()
            update.update(status="successful", finished=datetime.datetime.now(datetime.timezone.utc).isoformat(), scm_revision=revision)
            project.update(scm_revision=revision, status="successful")
            self.current_updates.pop(project["id"], None)
            self.playbook_files[project["id"]] = list(self.playbooks)
        return dict(update, url="%sproject_updates/%d/" % (API, update["id"]), event_processing_finished=update["finished"] is not None)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to the server's Controller."""

    def _answer(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        status, body = self.server.controller.answer(self.command, url.path, url.query, self.rfile.read(length), self.headers.get("Authorization"))
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        # AWX names itself in every answer, and its version to an authenticated client.
        self.send_header("X-API-Product-Name", "AWX")
        if status != 401:
            self.send_header("X-API-Product-Version", VERSION)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


class SimulatedAWX:
    """A Controller served on a loopback port while in a `with` block: `url` for controller_host, `controller` for
    its state."""

    def __init__(self, token, playbooks):
        self.controller = Controller(token, playbooks)
        self.url = None
        self._server = None

    def __enter__(self):
        for attempt in range(START_ATTEMPTS):
            try:
                self._server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
                break
            except OSError:
                # Another process took the port between free_port() and the bind.
                if attempt == START_ATTEMPTS - 1:
                    raise
        self._server.controller = self.controller
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
