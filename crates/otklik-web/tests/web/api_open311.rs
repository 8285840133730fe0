//! Open311 GeoReport v2: a client's round trip (services, POST request, GET request) against
//! the running server on loopback, the status mapping, filters and Open311-shaped errors.

use otklik_domain::{MessageId, Transition};
use otklik_store::MessageChange;
use serde_json::Value;

use crate::api_support::{ROADS, TestServer};

const TEXT: &str = "Открытый люк <script>alert(1)</script>'; DELETE FROM messages; --";

/// An Open311 error: `[{code, description}]` with the HTTP status.
async fn open311_error(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.unwrap();
    let items = body.as_array().expect("an array of errors");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["code"], status);
    items[0]["description"].as_str().unwrap().to_owned()
}

fn form<'a>(key: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("api_key", key),
        ("jurisdiction_id", "test.region"),
        ("service_code", ROADS),
        ("description", TEXT),
        ("lat", "55.751244"),
        ("long", "37.618423"),
        ("email", "ivan@example.ru"),
        ("first_name", "Иван"),
        ("last_name", "Петров"),
        ("media_url", "https://example.ru/photo.jpg"),
        ("attribute[weight]", "ignored"),
    ];
    f.extend_from_slice(extra);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_round_trip() {
    let s = TestServer::start().await;
    let c = &s.client;

    // 1. Services = subcategories, grouped by category.
    let services: Value = c
        .get(s.url("/open311/v2/services.json?jurisdiction_id=test.region"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = services.as_array().unwrap();
    assert!(list.len() > 300);
    let roads = list.iter().find(|x| x["service_code"] == ROADS).unwrap();
    assert_eq!(roads["metadata"], false);
    assert_eq!(roads["type"], "realtime");
    assert_eq!(roads["service_name"], "Дорожная инфраструктура");
    assert!(roads["group"].as_str().is_some_and(|g| !g.is_empty()));
    let def: Value = c
        .get(s.url(&format!("/open311/v2/services/{ROADS}.json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(def["service_code"], ROADS);
    assert_eq!(def["attributes"], serde_json::json!([]));

    // 2. POST a request (form-encoded, api_key = an API token).
    let res = c
        .post(s.url("/open311/v2/requests.json"))
        .form(&form(&s.a.secret, &[("account_id", "acc-7")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created[0]["account_id"], "acc-7");
    assert!(created[0]["service_notice"].as_str().unwrap().contains(&id));
    // The message went through the workflow, as a mobile-app message of organisation A.
    let m = s
        .store
        .message_record(MessageId(id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message.text, TEXT);
    assert_eq!(m.message.submitted_via, Some(s.org_a));
    assert_eq!(m.citizen_contact.as_deref(), Some("ivan@example.ru"));
    // A retry of the identical request returns the same request.
    let res = c
        .post(s.url("/open311/v2/requests.json"))
        .form(&form(&s.a.secret, &[("account_id", "acc-7")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()[0]["service_request_id"],
        id.as_str()
    );

    // 3. GET it back, with the key: in full.
    let got: Value = c
        .get(s.url(&format!(
            "/open311/v2/requests/{id}.json?api_key={}",
            s.a.secret
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = &got[0];
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], ROADS);
    assert_eq!(r["description"], TEXT);
    assert_eq!(r["lat"], 55.751244);
    assert_eq!(r["long"], 37.618423);
    assert_eq!(r["media_url"], "https://example.ru/photo.jpg");
    assert_eq!(r["agency_responsible"], "Администрация adm-a");
    assert!(r["requested_datetime"].as_str().unwrap().ends_with('Z'));
    assert!(r["expected_datetime"].is_string());
    assert!(r.get("first_name").is_none() && r.get("email").is_none());
    // Through the list with filters.
    let list: Value = c
        .get(s.url(&format!(
            "/open311/v2/requests.json?api_key={}&service_code={ROADS}&status=open",
            s.a.secret
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["description"], TEXT);
    let by_id: Value = c
        .get(s.url(&format!(
            "/open311/v2/requests.json?service_request_id={id},999999&api_key={}",
            s.a.secret
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_id.as_array().unwrap().len(), 1);
    // Without a key: listed, but without text, address and location.
    let public: Value = c
        .get(s.url("/open311/v2/requests.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public.as_array().unwrap().len(), 1);
    assert!(public[0].get("description").is_none());
    assert!(public[0].get("lat").is_none() && public[0].get("address").is_none());
    assert_eq!(public[0]["status"], "open");
    // Organisation B's key does not reach A's request.
    let res = c
        .get(s.url(&format!(
            "/open311/v2/requests/{id}.json?api_key={}",
            s.b.secret
        )))
        .send()
        .await
        .unwrap();
    open311_error(res, 404).await;
    let none: Value = c
        .get(s.url(&format!("/open311/v2/requests.json?api_key={}", s.b.secret)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none.as_array().unwrap().is_empty());

    // 4. The moderator rejects it: Open311 sees "closed" with the reason as notes.
    let msg = s
        .store
        .message(MessageId(id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    s.store
        .transition_message(
            msg.id,
            msg.version,
            Transition::Reject,
            MessageChange {
                reason: Some("Не относится к компетенции".into()),
                ..Default::default()
            },
            None,
            otklik_domain::Timestamp(msg.created_at.millis() + 1000),
        )
        .await
        .unwrap();
    let got: Value = c
        .get(s.url(&format!(
            "/open311/v2/requests/{id}.json?api_key={}",
            s.a.secret
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got[0]["status"], "closed");
    assert_eq!(got[0]["status_notes"], "Не относится к компетенции");
    assert!(got[0]["expected_datetime"].is_null());
    for (query, n) in [
        ("status=open", 0),
        ("status=closed", 1),
        ("status=open,closed", 1),
        ("start_date=2100-01-01T00:00:00Z", 0),
        ("end_date=2000-01-01", 0),
        ("service_code=roads.road_marking", 0),
    ] {
        let list: Value = c
            .get(s.url(&format!("/open311/v2/requests.json?{query}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), n, "{query}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_open311_shaped() {
    let s = TestServer::start().await;
    let c = &s.client;
    let post = |f: Vec<(&str, &str)>| c.post(s.url("/open311/v2/requests.json")).form(&f).send();
    let without = |name: &str| {
        form(&s.a.secret, &[])
            .into_iter()
            .filter(|(k, _)| *k != name)
            .collect::<Vec<_>>()
    };
    open311_error(post(without("api_key")).await.unwrap(), 400).await;
    let unknown = format!("otk_{}", "Z".repeat(43));
    open311_error(post(form(&unknown, &[])).await.unwrap(), 403).await;
    open311_error(post(form(&s.reader.secret, &[])).await.unwrap(), 403).await;
    open311_error(post(without("service_code")).await.unwrap(), 400).await;
    open311_error(post(without("description")).await.unwrap(), 400).await;
    let mut f = without("service_code");
    f.push(("service_code", "roads.nope' OR 1=1"));
    open311_error(post(f).await.unwrap(), 404).await;
    let no_place: Vec<_> = without("lat")
        .into_iter()
        .filter(|(k, _)| *k != "long")
        .collect();
    let d = open311_error(post(no_place.clone()).await.unwrap(), 400).await;
    assert!(d.contains("address_string"), "{d}");
    let mut with_address = no_place;
    with_address.push(("address_string", "ул. Ленина, 1"));
    assert_eq!(post(with_address).await.unwrap().status().as_u16(), 201);
    let mut bad_lat = without("lat");
    bad_lat.push(("lat", "91"));
    open311_error(post(bad_lat).await.unwrap(), 400).await;
    let mut bad_media = without("media_url");
    bad_media.push(("media_url", "javascript:alert(1)"));
    open311_error(post(bad_media).await.unwrap(), 400).await;
    // JSON instead of a form.
    let res = c
        .post(s.url("/open311/v2/requests.json"))
        .json(&serde_json::json!({"api_key": s.a.secret}))
        .send()
        .await
        .unwrap();
    open311_error(res, 400).await;
    // Unknown ids and services, XML, unknown paths, bad filters.
    for (path, status) in [
        ("/open311/v2/requests/424242.json", 404),
        ("/open311/v2/requests/abc.json", 404),
        ("/open311/v2/services/roads.nope.json", 404),
        ("/open311/v2/services.xml", 404),
        (&format!("/open311/v2/services/{ROADS}.xml"), 404),
        ("/open311/v2/tokens.json", 404),
        ("/open311/v2/requests.json?status=pending", 400),
        ("/open311/v2/requests.json?start_date=yesterday", 400),
        (
            "/open311/v2/requests.json?service_request_id=1'%20OR%201=1",
            400,
        ),
        (
            "/open311/v2/requests.json?start_date=2025-02-01&end_date=2025-01-01",
            400,
        ),
    ] {
        let res = c.get(s.url(path)).send().await.unwrap();
        open311_error(res, status).await;
    }
    // A bad key on a read is refused, not silently ignored.
    let res = c
        .get(s.url(&format!("/open311/v2/requests.json?api_key={unknown}")))
        .send()
        .await
        .unwrap();
    open311_error(res, 403).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_rate_limited_and_need_a_workflow() {
    let s = TestServer::start().await;
    let c = &s.client;
    let res = c
        .post(s.url("/open311/v2/requests.json"))
        .form(&form(&s.slow.secret, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let res = c
        .post(s.url("/open311/v2/requests.json"))
        .form(&form(&s.slow.secret, &[("description", "другое")]))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    open311_error(res, 429).await;
    s.stop().await;

    let s = TestServer::start_with(false).await;
    let res = s
        .client
        .post(s.url("/open311/v2/requests.json"))
        .form(&form(&s.a.secret, &[]))
        .send()
        .await
        .unwrap();
    open311_error(res, 503).await;
    s.stop().await;
}
