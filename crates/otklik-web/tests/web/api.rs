//! The JSON API over real HTTP on loopback, against a server on a real SQLite file.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api_support::{FAST, ROADS, TestServer, problem};

const HOSTILE: &str =
    "Яма у дома 5'; DROP TABLE messages; -- <script>alert(\"xss\")</script> & \"кавычки\" \\ 100%";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_replay_read_and_scope() {
    let s = TestServer::start().await;
    let body = json!({
        "text": HOSTILE,
        "category": ROADS,
        "territory": "north",
        "address": "<b>ул. Ленина</b>, 1' OR '1'='1",
        "contact": "citizen@example.ru",
    });
    let res = s.submit(&s.a, "key-1", &body).await;
    assert_eq!(res.status().as_u16(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let first: Value = res.json().await.unwrap();
    let id = first["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/messages/{id}"));
    // Stored and returned as-is, as a JSON string.
    assert_eq!(first["text"], HOSTILE);
    assert_eq!(first["address"], "<b>ул. Ленина</b>, 1' OR '1'='1");
    assert_eq!(first["status"], "moderation");
    assert_eq!(first["status_name"], "На модерации");
    assert_eq!(first["channel"], "mobile_app");
    assert_eq!(first["subcategory"], ROADS);
    assert_eq!(first["category"], "roads");
    assert_eq!(first["territory"]["code"], "north");
    assert_eq!(first["replayed"], false);
    assert!(first.get("contact").is_none(), "contacts are not echoed");
    // The organisation token submits "by place of submission": its organisation executes.
    assert_eq!(first["executor"]["code"], "adm-a");
    assert_eq!(
        s.store
            .message(otklik_domain::MessageId(id))
            .await
            .unwrap()
            .unwrap()
            .text,
        HOSTILE
    );

    // The same key and payload: the first message, 200.
    let res = s.submit(&s.a, "key-1", &body).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], id);
    assert_eq!(again["replayed"], true);
    // The same key with another payload: 409.
    let other = json!({"text": "Другой текст", "category": ROADS});
    let p = problem(s.submit(&s.a, "key-1", &other).await, 409).await;
    assert_eq!(p["code"], "idempotency_key_reused");
    // Keys are per token: B may use "key-1" for its own message.
    let res = s.submit(&s.b, "key-1", &other).await;
    assert_eq!(res.status().as_u16(), 201);
    let b_msg: Value = res.json().await.unwrap();
    let b_id = b_msg["id"].as_i64().unwrap();
    assert_ne!(b_id, id);
    assert_eq!(b_msg["executor"]["id"], s.org_b.get());

    // Reading: A and the region see it, B gets 404 as if it did not exist.
    let res = s.get(&s.a, &location).await;
    assert_eq!(res.status().as_u16(), 200);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["text"], HOSTILE);
    assert_eq!(read["id"], id);
    assert_eq!(s.get(&s.region, &location).await.status().as_u16(), 200);
    assert_eq!(s.get(&s.reader, &location).await.status().as_u16(), 200);
    let p = problem(s.get(&s.b, &location).await, 404).await;
    assert_eq!(p["code"], "not_found");
    assert_eq!(
        s.get(&s.b, &format!("/api/v1/messages/{b_id}"))
            .await
            .status()
            .as_u16(),
        200
    );
    for bad in ["999999", "0", "-1", "abc", "1%27%20OR%201=1", "1.5"] {
        problem(s.get(&s.a, &format!("/api/v1/messages/{bad}")).await, 404).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_by_cursor_within_the_organisation() {
    let s = TestServer::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let res = s
            .submit(
                &s.a,
                &format!("list-{i}"),
                &json!({"text": format!("Сообщение {i}"), "category": FAST}),
            )
            .await;
        assert_eq!(res.status().as_u16(), 201);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let res = s.submit(&s.b, "b-1", &json!({"text": "Сообщение B"})).await;
    let b_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let page: Value = s
        .get(&s.a, "/api/v1/messages?limit=2")
        .await
        .json()
        .await
        .unwrap();
    let got: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..2]);
    assert_eq!(page["next_after"], ids[1]);
    assert_eq!(page["items"][0]["fast_track"], true);
    let mut seen = got;
    let mut after = page["next_after"].as_i64();
    while let Some(a) = after {
        let page: Value = s
            .get(&s.a, &format!("/api/v1/messages?limit=2&after={a}"))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap()),
        );
        after = page["next_after"].as_i64();
    }
    assert_eq!(seen, ids, "A's pages hold exactly A's messages");

    let page: Value = s.get(&s.b, "/api/v1/messages").await.json().await.unwrap();
    let got: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![b_id]);
    assert_eq!(page["next_after"], Value::Null);

    let page: Value = s
        .get(&s.region, "/api/v1/messages?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 6);

    let page: Value = s
        .get(&s.a, "/api/v1/messages?status=rejected,closed")
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().is_empty());
    let page: Value = s
        .get(&s.a, "/api/v1/messages?status=moderation")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 5);

    for (query, field) in [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("after=x", "after"),
        ("after=-5", "after"),
        ("sort=id", "sort"),
        ("status=moderation'%20OR%20'1'='1", "status"),
    ] {
        let p = problem(s.get(&s.a, &format!("/api/v1/messages?{query}")).await, 422).await;
        assert_eq!(p["code"], "validation_failed");
        assert_eq!(p["errors"][0]["field"], field, "{query}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_their_fields() {
    let s = TestServer::start().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "text", "required"),
        (json!({"text": "   "}), "text", "required"),
        (json!({"text": 5}), "text", "wrong_type"),
        (json!({"text": "Яма", "foo": 1}), "foo", "unknown_field"),
        (
            json!({"text": "Яма", "category": "roads.nope"}),
            "category",
            "not_found",
        ),
        (
            json!({"text": "Яма", "territory": "atlantis"}),
            "territory",
            "not_found",
        ),
        (
            json!({"text": "Яма", "territory": "north' OR '1'='1"}),
            "territory",
            "not_found",
        ),
        (
            json!({"text": "Яма", "channel": "fax"}),
            "channel",
            "invalid",
        ),
        (
            json!({"text": "я".repeat(otklik_workflow::MAX_TEXT_CHARS + 1)}),
            "text",
            "too_long",
        ),
        (json!({"text": "Яма\u{0}"}), "text", "invalid"),
        (
            json!({"text": "Яма", "address": "a".repeat(501)}),
            "address",
            "too_long",
        ),
        (
            json!({"text": "Яма", "attachments": ["../etc/passwd"]}),
            "attachments",
            "invalid",
        ),
        (
            json!({"text": "Яма", "attachments": "x"}),
            "attachments",
            "wrong_type",
        ),
    ];
    for (i, (body, field, code)) in cases.into_iter().enumerate() {
        let p = problem(s.submit(&s.a, &format!("v-{i}"), &body).await, 422).await;
        assert_eq!(p["code"], "validation_failed");
        let errors = p["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{field}/{code}: {p}"
        );
    }
    // Several problems at once.
    let p = problem(
        s.submit(&s.a, "v-many", &json!({"bar": 1, "category": 2}))
            .await,
        422,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["bar", "text", "category"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    // A regional token cannot claim a widget.
    let p = problem(
        s.submit(&s.region, "w", &json!({"text": "Яма", "channel": "widget"}))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "channel");
    // Not JSON, not an object, not declared as JSON.
    let send = |ct: &'static str, body: &'static str| {
        s.client
            .post(s.url("/api/v1/messages"))
            .bearer_auth(&s.a.secret)
            .header("Idempotency-Key", "raw")
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let p = problem(send("application/json", "{\"text\": ").await.unwrap(), 400).await;
    assert_eq!(p["code"], "malformed_json");
    let p = problem(send("application/json", "[1, 2]").await.unwrap(), 422).await;
    assert_eq!(p["code"], "validation_failed");
    let p = problem(
        send("text/plain", "{\"text\": \"Яма\"}").await.unwrap(),
        415,
    )
    .await;
    assert_eq!(p["code"], "unsupported_media_type");
    // Nothing was registered by any of these.
    assert_eq!(
        otklik_store::testing::rows_in(&s.store, "messages").await,
        0
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked() {
    let s = TestServer::start().await;
    let body = json!({"text": "Яма"});
    let post = |auth: Option<String>| {
        let mut r = s
            .client
            .post(s.url("/api/v1/messages"))
            .header("Idempotency-Key", "t")
            .json(&body);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    // Missing, malformed, unknown, wrong scheme.
    let res = post(None).await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"otklik\"");
    let p = problem(res, 401).await;
    assert_eq!(p["code"], "unauthorized");
    let unknown = format!("otk_{}", "A".repeat(43));
    for auth in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer ' OR '1'='1".to_owned(),
        format!("Bearer {unknown}"),
        format!("Basic {}", s.a.secret),
        format!("Bearer {}x", s.a.secret),
    ] {
        problem(post(Some(auth.clone())).await.unwrap(), 401).await;
    }
    // Wrong scope: 403.
    let p = problem(s.submit(&s.reader, "t", &body).await, 403).await;
    assert_eq!(p["code"], "forbidden");
    problem(s.get(&s.integration, "/api/v1/messages").await, 403).await;
    let res = s
        .client
        .post(s.url("/api/v1/integrations/messages"))
        .bearer_auth(&s.a.secret)
        .json(&json!({"external_id": "1", "text": "Яма"}))
        .send()
        .await
        .unwrap();
    problem(res, 403).await;
    // Revoked: 401 from the next request on.
    assert_eq!(
        s.get(&s.reader, "/api/v1/messages").await.status().as_u16(),
        200
    );
    s.store
        .revoke_api_token(
            s.reader.id,
            None,
            otklik_domain::Timestamp(1_764_572_500_000),
        )
        .await
        .unwrap();
    problem(s.get(&s.reader, "/api/v1/messages").await, 401).await;
    // The token's use was recorded (the revoked token had been used once).
    let used = s.store.api_token(s.reader.id).await.unwrap().unwrap();
    assert!(used.last_used_at.is_some());
    assert!(
        s.store
            .api_token(s.slow.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
            .is_none()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_sizes_and_rates_are_limited() {
    // A frozen clock: however slow the machine, no token refills between two requests (the
    // slow token's bucket of one refills in ten seconds, which a loaded debug build once took).
    let t0 = std::time::Instant::now();
    let s = TestServer::start_adjusted(true, |st| st.with_rate_clock(Arc::new(move || t0))).await;
    // Idempotency-Key: required and sane.
    let res = s
        .client
        .post(s.url("/api/v1/messages"))
        .bearer_auth(&s.a.secret)
        .json(&json!({"text": "Яма"}))
        .send()
        .await
        .unwrap();
    let p = problem(res, 400).await;
    assert_eq!(p["code"], "idempotency_key_required");
    let p = problem(
        s.submit(&s.a, &"k".repeat(129), &json!({"text": "Яма"}))
            .await,
        400,
    )
    .await;
    assert_eq!(p["code"], "idempotency_key_invalid");

    // Oversize bodies: 413 (a JSON problem up to the API's own limit's neighbourhood, and
    // above the server-wide limit too).
    let big = json!({"text": "я".repeat(200_000)});
    let p = problem(s.submit(&s.a, "big", &big).await, 413).await;
    assert_eq!(p["code"], "payload_too_large");
    let huge = "x".repeat(3 * 1024 * 1024);
    let res = s
        .client
        .post(s.url("/api/v1/messages"))
        .bearer_auth(&s.a.secret)
        .header("Idempotency-Key", "huge")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    // The server refuses the announced size before reading the body: the client sees the
    // 413, or — when the refusal closes the connection while it still writes — a broken pipe.
    match res {
        Ok(res) => assert_eq!(res.status().as_u16(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }
    assert_eq!(
        otklik_store::testing::rows_in(&s.store, "messages").await,
        0
    );

    // Rate limit: the slow token (6 a minute) gets one write, then 429 with Retry-After.
    let res = s.submit(&s.slow, "slow-1", &json!({"text": "Яма"})).await;
    assert_eq!(res.status().as_u16(), 201);
    let res = s.submit(&s.slow, "slow-2", &json!({"text": "Яма 2"})).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert_eq!(retry, 10, "a bucket of one refills in ten seconds");
    let p = problem(res, 429).await;
    assert_eq!(p["code"], "rate_limited");
    // Reads are not limited, other tokens have their own bucket.
    assert_eq!(
        s.get(&s.slow, "/api/v1/messages").await.status().as_u16(),
        200
    );
    assert_eq!(
        s.submit(&s.a, "fast", &json!({"text": "Яма"}))
            .await
            .status()
            .as_u16(),
        201
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_hand_over_once() {
    let s = TestServer::start().await;
    let post = |key: Option<&'static str>, body: Value| {
        let mut r = s
            .client
            .post(s.url("/api/v1/integrations/messages"))
            .bearer_auth(&s.integration.secret)
            .json(&body);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        r.send()
    };
    let body =
        json!({"external_id": "POS-42", "text": HOSTILE, "territory": "south", "category": ROADS});
    let res = post(None, body.clone()).await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["channel"], "integration");
    assert_eq!(first["external_system"], "gosuslugi-pos");
    assert_eq!(first["external_id"], "POS-42");
    assert_eq!(first["text"], HOSTILE);
    assert_eq!(
        first["executor"]["code"], "adm-b",
        "routed to the territory's administration"
    );
    let res = post(None, body.clone()).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], first["id"]);
    // The same external id with another text under another key: refused.
    let res = post(
        Some("other"),
        json!({"external_id": "POS-42", "text": "Иное"}),
    )
    .await
    .unwrap();
    problem(res, 409).await;
    let p = problem(
        post(None, json!({"text": "Без номера"})).await.unwrap(),
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "external_id");
    // The integration token cannot read; the region can.
    let id = first["id"].as_i64().unwrap();
    let read: Value = s
        .get(&s.region, &format!("/api/v1/messages/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["external_id"], "POS-42");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_and_no_workflow() {
    let s = TestServer::start_with(false).await;
    // Categories and territories are public.
    let res = s
        .client
        .get(s.url("/api/v1/categories"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let tree: Value = res.json().await.unwrap();
    let roads = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "roads")
        .unwrap();
    let subs = roads["subcategories"].as_array().unwrap();
    assert!(
        subs.iter()
            .any(|s| s["id"] == ROADS && s["fast_track_days"].is_null())
    );
    assert!(
        subs.iter()
            .any(|s| s["id"] == FAST && s["fast_track_days"].as_u64().is_some())
    );
    let n_subs: usize = tree
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subcategories"].as_array().unwrap().len())
        .sum();
    assert!(n_subs > 300, "{n_subs}");
    let terr: Value = s
        .client
        .get(s.url("/api/v1/territories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = terr
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 3);
    assert!(codes.contains(&"north") && codes.contains(&"region"));
    // Without a workflow: writes 503, reads still work.
    let p = problem(s.submit(&s.a, "k", &json!({"text": "Яма"})).await, 503).await;
    assert_eq!(p["code"], "workflow_unavailable");
    assert_eq!(s.get(&s.a, "/api/v1/messages").await.status().as_u16(), 200);
    // Unknown API paths answer a JSON 404.
    let p = problem(
        s.client
            .get(s.url("/api/v1/nothing/here"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(p["code"], "not_found");
    s.stop().await;
}

/// Every route served is in the OpenAPI document, and every documented path answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let s = TestServer::start().await;
    let res = s
        .client
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc, otklik_web::openapi_document());
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();

    let served = otklik_web::api_route_table();
    assert!(served.len() >= 10, "{served:?}");
    for (method, path) in &served {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is served but not documented"))
            [method.to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is served but not documented"
        );
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
    }

    // A message so that the paths with an id have something to show.
    let res = s.submit(&s.region, "doc", &json!({"text": "Яма"})).await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut documented = 0;
    for (path, item) in paths {
        for (method, _) in item.as_object().unwrap() {
            documented += 1;
            assert!(
                served
                    .iter()
                    .any(|(m, p)| m.eq_ignore_ascii_case(method) && p == path),
                "{method} {path} is documented but not served"
            );
            let url = s.url(
                &path
                    .replace(
                        "{id}",
                        &if path.starts_with("/open311") {
                            format!("{id}.json")
                        } else {
                            id.to_string()
                        },
                    )
                    .replace("{code}", &format!("{ROADS}.json")),
            );
            let req = match method.as_str() {
                "get" => s.client.get(&url),
                "post" => s.client.post(&url).json(&json!({})),
                other => panic!("unexpected method {other}"),
            };
            let res = req.bearer_auth(&s.region.secret).send().await.unwrap();
            let status = res.status().as_u16();
            assert!(status != 404 && status != 405, "{method} {path} → {status}");
        }
    }
    assert_eq!(documented, served.len());
    s.stop().await;
}

/// Form submissions of the back-office and citizen pages are limited per client address on
/// the server's clock: a burst, then `429` with `Retry-After` and a Russian page until the
/// bucket refills; reads and the API are not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_submissions_are_limited_per_client_address() {
    let t0 = Instant::now();
    let offset = Arc::new(Mutex::new(Duration::ZERO));
    let o = offset.clone();
    // 6 a minute: a bucket of one, refilled in ten seconds.
    let s = TestServer::start_adjusted(true, |st| {
        st.with_write_rate(6)
            .with_rate_clock(Arc::new(move || t0 + *o.lock().unwrap()))
    })
    .await;
    let post = |path: &'static str| {
        s.client
            .post(s.url(path))
            .form(&[("t", "x"), ("rating", "5")])
            .send()
    };
    // The first submission reaches its handler (which refuses the bad link on its own).
    let first = post("/rate").await.unwrap();
    assert_ne!(first.status().as_u16(), 429);
    for path in [
        "/rate",
        "/office/messages/1/act",
        "/widget/adm-a/submit",
        "/my/messages/1",
    ] {
        let res = post(path).await.unwrap();
        assert_eq!(res.status().as_u16(), 429, "{path}");
        assert_eq!(res.headers()["retry-after"], "10", "{path}");
        let page = res.text().await.unwrap();
        assert!(page.contains("Слишком много запросов"), "{page}");
        assert!(page.contains("Подождите 10 с"), "{page}");
    }
    // Pages are read freely; the API has its own per-token buckets.
    let res = s.client.get(s.url("/rate?t=x")).send().await.unwrap();
    assert_ne!(res.status().as_u16(), 429);
    let res = s.submit(&s.a, "form-limit", &json!({"text": "Яма"})).await;
    assert_eq!(res.status().as_u16(), 201);
    // Ten seconds later (on the server's clock) the bucket holds one submission again.
    *offset.lock().unwrap() = Duration::from_secs(10);
    assert_ne!(post("/rate").await.unwrap().status().as_u16(), 429);
    assert_eq!(post("/rate").await.unwrap().status().as_u16(), 429);
    s.stop().await;
}
