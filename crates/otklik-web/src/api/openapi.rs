//! The OpenAPI 3.1 document of `/api/v1` and `/open311/v2`, written by hand (the routes are
//! few and their rules — problem objects, idempotency, scopes — read better in prose). A test
//! checks that it describes exactly the routes served ([`super::route_table`]).

use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use super::API_BODY_LIMIT;
use super::messages::{
    DEFAULT_PAGE, MAX_ADDRESS_CHARS, MAX_CONTACT_CHARS, MAX_KEY_CHARS, MAX_PAGE,
};

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn open311_error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Open311Errors"}}}
    })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn submission_schema(integration: bool) -> Value {
    let mut properties = json!({
        "text": {"type": "string", "minLength": 1, "maxLength": otklik_workflow::MAX_TEXT_CHARS,
                 "description": "Текст сообщения (хранится как есть)"},
        "category": {"type": "string", "description": "Идентификатор подкатегории из /api/v1/categories; без неё сообщение ждёт модератора"},
        "territory": {"type": "string", "description": "Код территории из /api/v1/territories"},
        "address": {"type": "string", "maxLength": MAX_ADDRESS_CHARS},
        "contact": {"type": "string", "maxLength": MAX_CONTACT_CHARS, "description": "E-mail или телефон для ответа"},
        "attachments": {"type": "array", "maxItems": otklik_workflow::MAX_ATTACHMENTS,
                        "items": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}}
    });
    let required = if integration {
        properties["external_id"] = json!({"type": "string", "maxLength": 200,
            "description": "Номер сообщения во внешней системе; вместе с именем токена однозначно определяет сообщение"});
        json!(["external_id", "text"])
    } else {
        properties["channel"] = json!({"type": "string", "enum": ["mobile_app", "portal", "widget"],
            "default": "mobile_app", "description": "widget — только для токена организации"});
        json!(["text"])
    };
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties})
}

/// The document.
pub fn document() -> Value {
    let bearer = json!([{"bearer": []}]);
    let idempotency = json!({
        "name": "Idempotency-Key", "in": "header", "required": true,
        "description": "Уникальная строка на каждое новое сообщение: повтор с тем же ключом и тем же телом возвращает первое сообщение (200), с другим телом — 409",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS}
    });
    let write_errors = |extra: &[(&str, &str)]| {
        let mut m = serde_json::Map::new();
        m.insert(
            "400".into(),
            problem("Тело не JSON, нет или плох Idempotency-Key"),
        );
        m.insert(
            "401".into(),
            problem("Нет токена, токен неизвестен или отозван"),
        );
        m.insert("403".into(), problem("У токена нет нужного права"));
        m.insert(
            "413".into(),
            problem(&format!("Тело больше {API_BODY_LIMIT} байт")),
        );
        m.insert("415".into(), problem("Тело не application/json"));
        m.insert("422".into(), problem("Ошибки проверки по полям (errors)"));
        m.insert(
            "429".into(),
            problem("Превышен лимит запросов токена; см. Retry-After"),
        );
        m.insert("503".into(), problem("Приём сообщений не настроен"));
        for (k, v) in extra {
            m.insert((*k).into(), problem(v));
        }
        Value::Object(m)
    };
    let mut submit_responses =
        write_errors(&[("409", "Idempotency-Key уже использован с другим телом")]);
    submit_responses["201"] = ok(
        "Сообщение зарегистрировано",
        json!({"$ref": "#/components/schemas/Submitted"}),
    );
    submit_responses["200"] = ok(
        "Повтор: то же сообщение, что и в первый раз",
        json!({"$ref": "#/components/schemas/Submitted"}),
    );
    let mut integration_responses = submit_responses.clone();
    integration_responses["201"] = ok(
        "Сообщение внешней системы зарегистрировано",
        json!({"$ref": "#/components/schemas/Submitted"}),
    );

    let open311_key = json!({"name": "api_key", "in": "query", "required": false,
        "description": "API-токен с правом read: полные сведения в пределах организации токена; без него — без текста, адреса и координат",
        "schema": {"type": "string"}});
    let jurisdiction = json!({"name": "jurisdiction_id", "in": "query", "required": false,
        "description": "Принимается и не учитывается (один регион на сервер)", "schema": {"type": "string"}});

    let mut schemas = serde_json::Map::new();
    schemas.insert("Problem".into(), json!({
                    "type": "object", "required": ["status", "code", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "code": {"type": "string", "examples": ["validation_failed", "unauthorized", "idempotency_key_reused"]},
                        "message": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object", "required": ["field", "code", "message"],
                            "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}
                    }
                }));
    schemas.insert("Named".into(), json!({"type": "object", "properties": {"id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"}}}));
    schemas.insert("Message".into(), json!({
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "status": {"type": "string", "enum": ["moderation", "coordination", "execution", "clarification", "approval", "answered", "rated", "closed", "rejected"]},
                        "status_name": {"type": "string"},
                        "channel": {"type": "string"},
                        "category": {"type": ["string", "null"]},
                        "subcategory": {"type": "string"},
                        "subcategory_name": {"type": ["string", "null"]},
                        "fast_track": {"type": "boolean"},
                        "territory": {"oneOf": [{"$ref": "#/components/schemas/Named"}, {"type": "null"}]},
                        "executor": {"oneOf": [{"$ref": "#/components/schemas/Named"}, {"type": "null"}]},
                        "text": {"type": "string"},
                        "address": {"type": ["string", "null"]},
                        "attachments": {"type": "array", "items": {"type": "string"}},
                        "external_system": {"type": ["string", "null"]},
                        "external_id": {"type": ["string", "null"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                        "deadline_at": {"type": "string", "format": "date-time"},
                        "answer": {"type": ["string", "null"]},
                        "answered_at": {"type": ["string", "null"], "format": "date-time"},
                        "rejection_reason": {"type": ["string", "null"]},
                        "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5}
                    }
                }));
    schemas.insert(
        "Submitted".into(),
        json!({
            "allOf": [{"$ref": "#/components/schemas/Message"}, {"type": "object", "properties": {
                "replayed": {"type": "boolean"}, "note": {"type": ["string", "null"]}}}]
        }),
    );
    schemas.insert("Submission".into(), json!(submission_schema(false)));
    schemas.insert(
        "IntegrationSubmission".into(),
        json!(submission_schema(true)),
    );
    schemas.insert("Open311Errors".into(), json!({"type": "array", "items": {"type": "object", "required": ["code", "description"],
                    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}));
    schemas.insert("Open311Service".into(), json!({"type": "object", "properties": {
                    "service_code": {"type": "string"}, "service_name": {"type": "string"}, "description": {"type": "string"},
                    "metadata": {"type": "boolean"}, "type": {"type": "string"}, "keywords": {"type": "string"}, "group": {"type": "string"}}}));
    schemas.insert("Open311Request".into(), json!({"type": "object", "properties": {
                    "service_request_id": {"type": "string"}, "status": {"type": "string", "enum": ["open", "closed"]},
                    "status_notes": {"type": ["string", "null"]}, "service_name": {"type": ["string", "null"]},
                    "service_code": {"type": "string"}, "description": {"type": "string"},
                    "agency_responsible": {"type": ["string", "null"]}, "service_notice": {"type": ["string", "null"]},
                    "requested_datetime": {"type": "string", "format": "date-time"},
                    "updated_datetime": {"type": "string", "format": "date-time"},
                    "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
                    "address": {"type": ["string", "null"]}, "address_id": {"type": ["string", "null"]},
                    "zipcode": {"type": ["string", "null"]}, "lat": {"type": "number"}, "long": {"type": "number"},
                    "media_url": {"type": "string"}}}));
    let mut paths = serde_json::Map::new();
    paths.insert("/api/v1/messages".into(), json!({
                "post": {
                    "operationId": "submitMessage",
                    "summary": "Подать сообщение гражданина (мобильное приложение, портал)",
                    "description": "Право submit. Сообщение проходит маршрутизацию и ждёт модератора; токен организации подаёт «по месту подачи» этой организации.",
                    "security": bearer.clone(),
                    "parameters": [idempotency],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}}},
                    "responses": submit_responses
                },
                "get": {
                    "operationId": "listMessages",
                    "summary": "Сообщения в пределах токена, по возрастанию номера, постранично",
                    "security": bearer.clone(),
                    "parameters": [
                        {"name": "status", "in": "query", "required": false, "description": "Статусы через запятую", "schema": {"type": "string"}},
                        {"name": "after", "in": "query", "required": false, "description": "Курсор: next_after предыдущей страницы", "schema": {"type": "integer", "minimum": 0}},
                        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE}}
                    ],
                    "responses": {
                        "200": ok("Страница", json!({"type": "object", "properties": {
                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
                            "next_after": {"type": ["integer", "null"]}}})),
                        "401": problem("Нет действующего токена"),
                        "403": problem("Нет права read"),
                        "422": problem("Неизвестный параметр или плохое значение")
                    }
                }
            }));
    paths.insert("/api/v1/messages/{id}".into(), json!({
                "get": {
                    "operationId": "getMessage",
                    "summary": "Одно сообщение (в пределах организации токена)",
                    "security": bearer.clone(),
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": ok("Сообщение", json!({"$ref": "#/components/schemas/Message"})),
                        "401": problem("Нет действующего токена"),
                        "403": problem("Нет права read"),
                        "404": problem("Нет такого сообщения или оно вне организации токена")
                    }
                }
            }));
    paths.insert("/api/v1/integrations/messages".into(), json!({
                "post": {
                    "operationId": "intakeIntegration",
                    "summary": "Передать сообщение из внешней системы обратной связи",
                    "description": "Право integration. Имя токена — идентификатор внешней системы; пара (система, external_id) однозначна: повторная передача возвращает первое сообщение. Idempotency-Key необязателен.",
                    "security": bearer.clone(),
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false,
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntegrationSubmission"}}}},
                    "responses": integration_responses
                }
            }));
    paths.insert("/api/v1/categories".into(), json!({
                "get": {
                    "operationId": "listCategories",
                    "summary": "Единый классификатор: категории с подкатегориями, сроками и быстрыми решениями",
                    "security": [],
                    "responses": {"200": ok("Дерево", json!({"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "name": {"type": "string"},
                        "subcategories": {"type": "array", "items": {"type": "object", "properties": {
                            "id": {"type": "string"}, "name": {"type": "string"},
                            "deadline_days": {"type": "integer"}, "fast_track_days": {"type": ["integer", "null"]}}}}}}}))}
                }
            }));
    paths.insert("/api/v1/territories".into(), json!({
                "get": {
                    "operationId": "listTerritories",
                    "summary": "Территории региона",
                    "security": [],
                    "responses": {"200": ok("Территории", json!({"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "code": {"type": "string"}, "kind": {"type": "string"},
                        "name": {"type": "string"}, "parent_id": {"type": ["integer", "null"]},
                        "name_variants": {"type": "array", "items": {"type": "string"}}}}}))}
                }
            }));
    paths.insert(
        "/api/v1/openapi.json".into(),
        json!({
            "get": {
                "operationId": "openapi",
                "summary": "Этот документ",
                "security": [],
                "responses": {"200": ok("OpenAPI 3.1", json!({"type": "object"}))}
            }
        }),
    );
    paths.insert(
        "/open311/v2/discovery.json".into(),
        json!({
            "get": {
                "operationId": "open311Discovery", "summary": "Open311: описание сервиса",
                "security": [],
                "responses": {"200": ok("Discovery", json!({"type": "object"}))}
            }
        }),
    );
    paths.insert("/open311/v2/services.json".into(), json!({
                "get": {
                    "operationId": "open311Services", "summary": "Open311: услуги = подкатегории",
                    "security": [], "parameters": [jurisdiction.clone()],
                    "responses": {"200": ok("Услуги", json!({"type": "array", "items": {"$ref": "#/components/schemas/Open311Service"}}))}
                }
            }));
    paths.insert("/open311/v2/services/{code}".into(), json!({
                "get": {
                    "operationId": "open311Service", "summary": "Open311: описание услуги ({service_code}.json)",
                    "security": [],
                    "parameters": [{"name": "code", "in": "path", "required": true,
                        "description": "service_code с суффиксом .json, например roads.potholes.json", "schema": {"type": "string"}}],
                    "responses": {
                        "200": ok("Описание", json!({"type": "object", "properties": {"service_code": {"type": "string"}, "attributes": {"type": "array"}}})),
                        "404": open311_error("Нет такой услуги")
                    }
                }
            }));
    paths.insert("/open311/v2/requests.json".into(), json!({
                "post": {
                    "operationId": "open311Post", "summary": "Open311: подать обращение",
                    "security": [],
                    "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "required": ["api_key", "service_code", "description"],
                        "properties": {
                            "api_key": {"type": "string"}, "jurisdiction_id": {"type": "string"},
                            "service_code": {"type": "string"}, "description": {"type": "string"},
                            "lat": {"type": "number"}, "long": {"type": "number"},
                            "address_string": {"type": "string"}, "address_id": {"type": "string"},
                            "email": {"type": "string"}, "first_name": {"type": "string"}, "last_name": {"type": "string"},
                            "phone": {"type": "string"}, "media_url": {"type": "string"},
                            "device_id": {"type": "string"}, "account_id": {"type": "string"}}}}}},
                    "responses": {
                        "201": ok("Принято", json!({"type": "array", "items": {"type": "object", "properties": {
                            "service_request_id": {"type": "string"}, "service_notice": {"type": ["string", "null"]},
                            "account_id": {"type": ["string", "null"]}}}})),
                        "200": ok("Повтор того же обращения в тот же день", json!({"type": "array"})),
                        "400": open311_error("Не хватает или неверен параметр"),
                        "403": open311_error("api_key недействителен или без права submit"),
                        "404": open311_error("Нет такой услуги"),
                        "429": open311_error("Превышен лимит запросов"),
                        "503": open311_error("Приём сообщений не настроен")
                    }
                },
                "get": {
                    "operationId": "open311List", "summary": "Open311: обращения",
                    "security": [],
                    "parameters": [open311_key, jurisdiction,
                        {"name": "service_request_id", "in": "query", "required": false, "schema": {"type": "string"}},
                        {"name": "service_code", "in": "query", "required": false, "schema": {"type": "string"}},
                        {"name": "start_date", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}},
                        {"name": "end_date", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}},
                        {"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": ["open", "closed", "open,closed"]}}],
                    "responses": {
                        "200": ok("Обращения, новые сначала, не больше 1000", json!({"type": "array", "items": {"$ref": "#/components/schemas/Open311Request"}})),
                        "400": open311_error("Неверный параметр"),
                        "403": open311_error("api_key недействителен")
                    }
                }
            }));
    paths.insert("/open311/v2/requests/{id}".into(), json!({
                "get": {
                    "operationId": "open311Get", "summary": "Open311: одно обращение ({id}.json)",
                    "security": [],
                    "parameters": [{"name": "id", "in": "path", "required": true,
                        "description": "Номер с суффиксом .json", "schema": {"type": "string"}}],
                    "responses": {
                        "200": ok("Обращение (массив из одного элемента)", json!({"type": "array", "items": {"$ref": "#/components/schemas/Open311Request"}})),
                        "404": open311_error("Нет такого обращения")
                    }
                }
            }));
    // «Голосования» (crate::polls::api): public, like the category tree.
    paths.insert("/api/v1/polls".into(), json!({
                "get": {
                    "operationId": "listPolls",
                    "summary": "Опубликованные и завершённые голосования, новые сначала",
                    "security": [],
                    "responses": {
                        "200": ok("Голосования", json!({"type": "array", "items": {"type": "object", "properties": {
                            "id": {"type": "integer"}, "title": {"type": "string"},
                            "kind": {"type": "string", "enum": ["single", "multiple", "ranking", "free_text", "budget"]},
                            "status": {"type": "string", "enum": ["published", "closed"]},
                            "organisation": {"type": "string", "description": "Код организации"},
                            "topic": {"type": ["string", "null"]},
                            "starts_at": {"type": "string", "format": "date-time"},
                            "ends_at": {"type": "string", "format": "date-time"},
                            "open": {"type": "boolean", "description": "Принимает голоса сейчас"},
                            "url": {"type": "string", "description": "Страница голосования"}}}})),
                        "503": problem("Модуль голосований не настроен")
                    }
                }
            }));
    paths.insert("/api/v1/polls/{id}/results".into(), json!({
                "get": {
                    "operationId": "pollResults",
                    "summary": "Итоги голосования: голоса и доли по вариантам, баллы Борда, проекты в пределах бюджета, свободные ответы",
                    "security": [],
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": ok("Итоги", json!({"type": "object", "properties": {
                            "poll": {"type": "integer"}, "title": {"type": "string"}, "kind": {"type": "string"},
                            "status": {"type": "string"}, "final_results": {"type": "boolean"},
                            "ballots": {"type": "integer"},
                            "options": {"type": "array", "items": {"type": "object", "properties": {
                                "place": {"type": "integer"}, "option": {"type": "integer"}, "label": {"type": "string"},
                                "votes": {"type": "integer"}, "percent": {"type": "number"},
                                "cost": {"type": ["integer", "null"]}, "borda": {"type": ["integer", "null"]},
                                "average_rank": {"type": ["number", "null"]}, "funded": {"type": ["boolean", "null"]}}}},
                            "budget": {"type": ["object", "null"]},
                            "answers": {"type": "array", "items": {"type": "object"}}}})),
                        "403": problem("Итоги скрыты до завершения голосования (code results_hidden)"),
                        "404": problem("Нет такого опубликованного голосования"),
                        "503": problem("Модуль голосований не настроен")
                    }
                }
            }));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Otklik API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Сообщения граждан: приём из мобильных приложений и внешних систем, чтение, Open311 GeoReport v2",
            "description": "Ошибки /api/v1 — объекты application/problem+json: {status, code, message, errors?}; code стабилен, message — по-русски. Неизвестные поля тела отклоняются (422). Токен организации видит сообщения, которые она исполняет или получила; региональный — все. Ошибки /open311/v2 — в формате Open311: массив {code, description}.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "otk_<43 символа base64url>"}
            },
            "schemas": schemas
        },
        "paths": paths
    })
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn serve() -> Response {
    Json(document()).into_response()
}
