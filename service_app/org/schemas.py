from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from service_app.common.i18n import bilingual
from service_app.common.pagination import PageArgsSchema
from service_app.common.schemas import AwareDateTime, Date, Float, Id, Schema, Text
from service_app.org import credit_code
from service_app.org.models import ENTERPRISE_SCALES, LINK_ROLES, SCALE_LABELS


class ReferenceSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    name_en = fields.String(dump_only=True, allow_none=True)


class ParkSchema(ReferenceSchema):
    district = fields.String(dump_only=True, allow_none=True)
    zone_part = fields.String(dump_only=True, allow_none=True)
    lat = fields.Float(dump_only=True, allow_none=True)
    lng = fields.Float(dump_only=True, allow_none=True)


class ChainSchema(ReferenceSchema):
    pass


class DepartmentSchema(ReferenceSchema):
    phone = fields.String(dump_only=True, allow_none=True)


class CategorySchema(ReferenceSchema):
    default_department_id = fields.Integer(dump_only=True, allow_none=True)
    default_department_name = fields.Function(
        lambda c: c.default_department.name if c.default_department_id else None,
        dump_only=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "The name of the department its problems are dispatched to by default",
        },
    )
    response_days = fields.Integer(dump_only=True, metadata={"description": "Working days to the first response"})
    resolve_days = fields.Integer(dump_only=True, metadata={"description": "Working days to resolve (urgent: half)"})


class CreditCode(fields.String):
    """Unified social credit code: upper-cased, shape and GB 32100 check character verified."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = credit_code.normalise(super()._deserialize(value, attr, data, **kwargs))
        if not credit_code.is_valid(result):
            raise ValidationError(
                bilingual(
                    "统一社会信用代码无效（格式或校验位错误）",
                    "Invalid unified social credit code (format or check character)",
                )
            )
        return result


class EnterpriseSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    credit_code = fields.String(dump_only=True)
    address = fields.String(dump_only=True, allow_none=True)
    lat = fields.Float(dump_only=True, allow_none=True)
    lng = fields.Float(dump_only=True, allow_none=True)
    park_id = fields.Integer(dump_only=True, allow_none=True)
    chain_id = fields.Integer(dump_only=True, allow_none=True)
    scale = fields.String(dump_only=True, allow_none=True)
    scale_label = fields.Function(
        lambda e: SCALE_LABELS.get(e.scale),
        dump_only=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    industry = fields.String(dump_only=True, allow_none=True)
    legal_representative = fields.String(dump_only=True, allow_none=True)
    contact_name = fields.String(dump_only=True, allow_none=True)
    contact_phone = fields.String(dump_only=True, allow_none=True)
    established_on = fields.Date(dump_only=True, allow_none=True)
    description = fields.String(dump_only=True, allow_none=True)
    created_at = AwareDateTime(dump_only=True)
    updated_at = AwareDateTime(dump_only=True)


class EnterpriseListItemSchema(EnterpriseSchema):
    """An enterprise in a list: with the names of its park and chain next to their ids."""

    park_name = fields.Function(
        lambda e: e.park.name if e.park_id else None,
        dump_only=True,
        allow_none=True,
        metadata={"type": "string", "description": "The name of the park (园区) `park_id` refers to"},
    )
    chain_name = fields.Function(
        lambda e: e.chain.name if e.chain_id else None,
        dump_only=True,
        allow_none=True,
        metadata={"type": "string", "description": "The name of the industry chain (产业链) `chain_id` refers to"},
    )


class EnterpriseWriteFields(Schema):
    address = Text(allow_none=True, validate=validate.Length(max=255))
    lat = Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    park_id = Id(allow_none=True)
    chain_id = Id(allow_none=True)
    scale = fields.String(allow_none=True, validate=validate.OneOf(ENTERPRISE_SCALES))
    industry = Text(allow_none=True, validate=validate.Length(max=64))
    legal_representative = Text(allow_none=True, validate=validate.Length(max=64))
    contact_name = Text(allow_none=True, validate=validate.Length(max=64))
    contact_phone = Text(allow_none=True, validate=validate.Regexp(r"^[0-9+\-() ]{5,32}$"))
    established_on = Date(allow_none=True)
    description = Text(allow_none=True, validate=validate.Length(max=4000))


class EnterpriseCreateSchema(EnterpriseWriteFields):
    name = Text(required=True, validate=validate.Length(min=2, max=128))
    credit_code = CreditCode(required=True)


class EnterpriseUpdateSchema(EnterpriseWriteFields):
    name = Text(validate=validate.Length(min=2, max=128))
    credit_code = CreditCode()


class LinkSchema(Schema):
    id = fields.Integer(dump_only=True)
    cadre_id = fields.Integer(dump_only=True)
    enterprise_id = fields.Integer(dump_only=True)
    role = fields.String(dump_only=True)
    started_on = fields.Date(dump_only=True)
    ended_at = AwareDateTime(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)


class LinkCreateSchema(Schema):
    cadre_id = Id(required=True)
    enterprise_id = Id(required=True)
    role = fields.String(load_default="primary", validate=validate.OneOf(LINK_ROLES))
    started_on = Date(load_default=None, allow_none=True)


class LinkQuerySchema(PageArgsSchema):
    cadre_id = Id()
    enterprise_id = Id()
    active = fields.Boolean(load_default=True)
