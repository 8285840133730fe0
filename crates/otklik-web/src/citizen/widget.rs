//! The embeddable widget: `GET /widget.js` (the snippet an organisation pastes on its site:
//! `<script src="https://OTKLIK/widget.js" data-organisation="CODE" async></script>`) adds a
//! button that opens our form in a dialog with an iframe — or in a new window
//! (`data-mode="popup"`, or the dialog's own link when the site forbids frames).
//!
//! The form (`/widget/{code}`) asks for a subcategory of the unified tree (fast-track ones
//! show the clock badge «быстрое решение» with their deadline), the description, the
//! territory or address and up to [`DEFAULT_MAX_FILES`] photos or PDF files; a citizen must be
//! signed in (the sign-in opens in a new window: identity providers refuse to be framed). The
//! submission (`POST /widget/{code}/submit`, multipart) checks the session's CSRF token and
//! the files (size → 413, type by content → 415, before anything is stored), stores the files
//! in the attachments store and registers the message through
//! [`otklik_workflow::Workflow::submit`] (channel widget, submitted via the widget's
//! organisation, the citizen as author and contact, idempotency key from the form).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use otklik_domain::{Channel, MessageId, Organisation, SubcategoryId, TerritoryId};
use otklik_store::AttachmentError;
use otklik_workflow::{MAX_TEXT_CHARS, Submission, WorkflowError};

use super::{Citizen, citizen_page, notice};
use crate::AppState;
use crate::auth::{internal, now, origin_ok, random_token};
use crate::html::escape;

/// Files per submission unless configured otherwise.
pub const DEFAULT_MAX_FILES: usize = 5;
/// Largest widget submission accepted, bytes (files and fields together).
pub const MAX_UPLOAD_BYTES: usize = 52 * 1024 * 1024;
/// Largest text field, bytes.
const MAX_FIELD_BYTES: usize = 96 * 1024;

/// The Content-Security-Policy of `/widget/…` pages: like every page's, but any site may
/// frame them.
pub const WIDGET_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors http: https:";

/// May the page at `path` be framed by other sites (only the widget's pages)?
pub fn framable(path: &str) -> bool {
    path.starts_with("/widget/")
}

pub(super) fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/widget/{code}/submit", post(submit))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(middleware::from_fn(refuse_oversize))
}

fn too_large(detail: &str) -> Response {
    notice(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Слишком большой файл",
        detail,
        &[],
    )
}

/// Announced bodies over the limit are refused before they are read.
async fn refuse_oversize(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES as u64) {
        return too_large(&format!(
            "Сообщение с файлами больше {} МБ не принимается. Уменьшите фотографии или приложите меньше файлов.",
            MAX_UPLOAD_BYTES / (1024 * 1024)
        ));
    }
    next.run(req).await
}

/// `GET /widget.js`: the snippet's script (no inline code anywhere).
pub(crate) async fn script() -> Response {
    let mut res = WIDGET_JS.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    res
}

const WIDGET_JS: &str = r##"/* Отклик: виджет обращений граждан. Вставьте на сайт:
   <script src="https://OTKLIK/widget.js" data-organisation="КОД" async></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var code = script.getAttribute("data-organisation") || "";
  if (!/^[A-Za-z0-9_.\-]{1,64}$/.test(code)) {
    if (window.console) { console.warn("Отклик: неверный атрибут data-organisation"); }
    return;
  }
  var base = new URL(script.src, document.baseURI).origin;
  var url = base + "/widget/" + encodeURIComponent(code);
  var popupOnly = script.getAttribute("data-mode") === "popup";
  var button = document.createElement("button");
  button.type = "button";
  button.className = "otklik-widget-button";
  button.textContent = script.getAttribute("data-label") || "Сообщить о проблеме";
  button.setAttribute("aria-haspopup", "dialog");
  var bs = button.style;
  bs.background = "#0b5cad"; bs.color = "#fff"; bs.border = "0"; bs.borderRadius = "6px";
  bs.padding = "10px 18px"; bs.font = "inherit"; bs.cursor = "pointer";
  var dialog = null;

  function popup() {
    var w = window.open(url, "otklik-widget", "width=720,height=860,noopener");
    if (!w) { window.location.assign(url); }
  }

  function close() {
    if (dialog) { dialog.parentNode.removeChild(dialog); dialog = null; }
    document.removeEventListener("keydown", onKey);
    button.focus();
  }

  function onKey(e) { if (e.key === "Escape") { close(); } }

  function open() {
    if (popupOnly) { popup(); return; }
    if (dialog) { return; }
    dialog = document.createElement("div");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", "Сообщение о проблеме");
    dialog.className = "otklik-widget-dialog";
    var ds = dialog.style;
    ds.position = "fixed"; ds.inset = "0"; ds.background = "rgba(0,0,0,.45)"; ds.zIndex = "2147483647";
    ds.display = "flex"; ds.alignItems = "center"; ds.justifyContent = "center";
    var box = document.createElement("div");
    var xs = box.style;
    xs.background = "#fff"; xs.width = "min(720px, 96vw)"; xs.height = "min(860px, 94vh)";
    xs.display = "flex"; xs.flexDirection = "column"; xs.borderRadius = "8px"; xs.overflow = "hidden";
    var bar = document.createElement("div");
    bar.style.display = "flex"; bar.style.justifyContent = "space-between"; bar.style.padding = "6px 10px";
    var link = document.createElement("a");
    link.href = url; link.target = "_blank"; link.rel = "noopener";
    link.textContent = "Открыть форму в новом окне";
    link.className = "otklik-widget-newwindow";
    var x = document.createElement("button");
    x.type = "button"; x.textContent = "Закрыть"; x.className = "otklik-widget-close";
    x.addEventListener("click", close);
    bar.appendChild(link); bar.appendChild(x);
    var frame = document.createElement("iframe");
    frame.src = url;
    frame.title = "Форма сообщения о проблеме";
    frame.className = "otklik-widget-frame";
    frame.style.border = "0"; frame.style.flex = "1"; frame.style.width = "100%";
    box.appendChild(bar); box.appendChild(frame);
    dialog.appendChild(box);
    dialog.addEventListener("click", function (e) { if (e.target === dialog) { close(); } });
    document.addEventListener("keydown", onKey);
    document.body.appendChild(dialog);
    x.focus();
  }

  button.addEventListener("click", open);
  if (script.parentNode && script.parentNode !== document.head) {
    script.parentNode.insertBefore(button, script.nextSibling);
  } else {
    document.body.appendChild(button);
  }
})();
"##;

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn unknown_widget() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "Форма не найдена",
        "Организация с таким кодом виджета не зарегистрирована.",
        &[],
    )
}

async fn organisation(state: &AppState, code: &str) -> Result<Organisation, Response> {
    if !valid_code(code) {
        return Err(unknown_widget());
    }
    match state.store().organisation_by_code(code).await {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(unknown_widget()),
        Err(e) => Err(internal(&e)),
    }
}

fn org_name(o: &Organisation) -> &str {
    o.short_name.as_deref().unwrap_or(&o.name)
}

fn sign_in_invitation(state: &AppState, o: &Organisation) -> Response {
    if state.citizen_config().oidc.is_none() {
        // Say so plainly instead of a button that leads nowhere.
        let body = format!(
            "<h1>Сообщить о проблеме</h1><p>Сообщение получит: <strong>{org}</strong>.</p>\
<p role=\"alert\" class=\"notice\" id=\"sign-in-unavailable\">Отправка сообщений через эту форму пока недоступна: \
вход через Госуслуги (ЕСИА) на сервере не настроен. Обратитесь к администратору портала \
или в {org} другим способом.</p>",
            org = escape(org_name(o)),
        );
        return citizen_page(StatusCode::OK, "Сообщить о проблеме", &body);
    }
    let next = format!("/widget/{}", o.code);
    let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
    let body = format!(
        "<h1>Сообщить о проблеме</h1><p>Сообщение получит: <strong>{org}</strong>.</p>\
<p>Чтобы отправить сообщение и получить ответ, войдите через Госуслуги (ЕСИА). \
Вход откроется в новом окне; после входа форма откроется там же.</p>\
<p><a class=\"button\" id=\"sign-in\" href=\"/citizen/login?{q}\" target=\"_blank\" rel=\"noopener\">Войти через Госуслуги</a></p>",
        org = escape(org_name(o)),
        q = escape(&q),
    );
    citizen_page(StatusCode::OK, "Сообщить о проблеме", &body)
}

/// `GET /widget/{code}`: the form (or the invitation to sign in).
pub(crate) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let org = match organisation(&state, &code).await {
        Ok(o) => o,
        Err(res) => return res,
    };
    let citizen = match Citizen::of_request(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => return sign_in_invitation(&state, &org),
        Err(res) => return res,
    };
    let key = match random_token() {
        Ok(k) => k[..32].to_owned(),
        Err(e) => return internal(&e),
    };
    let territories = match state.store().territories().await {
        Ok(t) => t,
        Err(e) => return internal(&e),
    };
    let mut body = format!(
        "<h1>Сообщить о проблеме</h1><p>Сообщение получит: <strong>{org}</strong>. Отправитель: {who}.</p>\
<form method=\"post\" action=\"/widget/{code}/submit\" enctype=\"multipart/form-data\" class=\"widget-form\">\
<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"key\" value=\"{key}\">",
        org = escape(org_name(&org)),
        who = escape(&citizen.user.full_name),
        code = escape(&org.code),
        csrf = escape(citizen.csrf_token()),
    );
    body.push_str(&category_picker(&state));
    body.push_str(&format!(
        "<p><label for=\"text\">Опишите проблему</label>\
<textarea id=\"text\" name=\"text\" rows=\"6\" required maxlength=\"{MAX_TEXT_CHARS}\"></textarea></p>\
<p><label for=\"territory\">Населённый пункт или район</label><select id=\"territory\" name=\"territory\">\
<option value=\"\">— не выбран —</option>"
    ));
    let mut sorted: Vec<_> = territories.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for t in sorted {
        body.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            t.id.get(),
            escape(&t.name)
        ));
    }
    let max_files = max_files(&state);
    let files_input = if state.citizen_config().attachments.is_some() && max_files > 0 {
        let mb = state
            .citizen_config()
            .attachments
            .as_ref()
            .map_or(0, |f| f.limits().max_bytes / (1024 * 1024));
        format!(
            "<p><label for=\"photos\">Фотографии или документы (до {max_files} файлов JPEG, PNG, WebP или PDF, каждый до {mb} МБ)</label>\
<input type=\"file\" id=\"photos\" name=\"photos\" multiple accept=\"image/jpeg,image/png,image/webp,application/pdf\"></p>"
        )
    } else {
        String::new()
    };
    body.push_str(&format!(
        "</select></p><p><label for=\"address\">Адрес или место</label>\
<input type=\"text\" id=\"address\" name=\"address\" maxlength=\"300\" autocomplete=\"street-address\"></p>\
{files_input}<p>Ответ придёт на адрес электронной почты из вашего профиля Госуслуг{email}.</p>\
<p><button type=\"submit\">Отправить сообщение</button></p></form>",
        email = citizen
            .user
            .email
            .as_deref()
            .map_or_else(String::new, |e| format!(" ({})", escape(e))),
    ));
    citizen_page(StatusCode::OK, "Сообщить о проблеме", &body)
}

fn max_files(state: &AppState) -> usize {
    state
        .citizen_config()
        .max_files
        .unwrap_or(DEFAULT_MAX_FILES)
}

/// Categories → subcategories as radio buttons in disclosure groups; fast-tracks get the
/// clock badge with their deadline.
fn category_picker(state: &AppState) -> String {
    let tree = &state.inner.info.tree;
    let mut out = String::from(
        "<fieldset><legend>Тема сообщения</legend>\
<label><input type=\"radio\" name=\"subcategory\" value=\"\" required> Не знаю — тему определит модератор</label>",
    );
    for c in tree.categories() {
        let children: Vec<_> = tree.children(&c.id).collect();
        if children.is_empty() {
            continue;
        }
        let fast = children.iter().filter(|s| s.fast_track.is_some()).count();
        let hint = if fast > 0 {
            " <span class=\"badge\" aria-hidden=\"true\">⏱</span>"
        } else {
            ""
        };
        out.push_str(&format!(
            "<details><summary>{}{hint}</summary>",
            escape(&c.name)
        ));
        for s in children {
            let badge = s.fast_track.map_or_else(String::new, |f| {
                format!(
                    " <span class=\"badge fast-track\">⏱ быстрое решение · {} раб. дн.</span>",
                    f.deadline_days
                )
            });
            out.push_str(&format!(
                "<label><input type=\"radio\" name=\"subcategory\" value=\"{}\" required> {}{badge}</label>",
                escape(&s.id.0),
                escape(&s.name)
            ));
        }
        out.push_str("</details>");
    }
    out.push_str("</fieldset>");
    out
}

/// A file of the form, read into memory within the limits.
struct Upload {
    name: String,
    mime: Option<String>,
    content: Vec<u8>,
}

#[derive(Default)]
struct Fields {
    csrf: String,
    key: String,
    subcategory: String,
    text: String,
    territory: String,
    address: String,
    uploads: Vec<Upload>,
}

fn bad_request(text: &str, code: &str) -> Response {
    let back = format!("/widget/{code}");
    notice(
        StatusCode::BAD_REQUEST,
        "Сообщение не отправлено",
        text,
        &[(back.as_str(), "Вернуться к форме")],
    )
}

fn multipart_refused(e: &axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(
            "Сообщение с файлами слишком большое. Уменьшите фотографии или приложите меньше файлов.",
        )
    } else {
        notice(
            StatusCode::BAD_REQUEST,
            "Сообщение не отправлено",
            "Форма пришла повреждённой. Откройте её заново и повторите.",
            &[],
        )
    }
}

/// Reads the form; files over `max_file` bytes or more than `max_files` of them stop the
/// reading at once.
async fn read_fields(
    mut mp: Multipart,
    max_file: u64,
    max_files: usize,
) -> Result<Fields, Response> {
    let mut f = Fields::default();
    while let Some(mut field) = mp.next_field().await.map_err(|e| multipart_refused(&e))? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "photos" {
            let file_name = field.file_name().unwrap_or("").to_owned();
            let mime = field.content_type().map(str::to_owned);
            let mut content = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| multipart_refused(&e))? {
                content.extend_from_slice(&chunk);
                if content.len() as u64 > max_file {
                    return Err(too_large(&format!(
                        "Файл «{}» больше {} МБ. Уменьшите его и отправьте снова.",
                        file_name.chars().take(100).collect::<String>(),
                        max_file / (1024 * 1024)
                    )));
                }
            }
            if content.is_empty() && file_name.is_empty() {
                continue; // no file chosen
            }
            if f.uploads.len() == max_files {
                return Err(too_large(&format!(
                    "Можно приложить не больше {max_files} файлов."
                )));
            }
            f.uploads.push(Upload {
                name: file_name,
                mime,
                content,
            });
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_refused(&e))? {
            value.extend_from_slice(&chunk);
            if value.len() > MAX_FIELD_BYTES {
                return Err(too_large("Текст сообщения слишком длинный."));
            }
        }
        let value = String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            "_csrf" => f.csrf = value,
            "key" => f.key = value,
            "subcategory" => f.subcategory = value,
            "text" => f.text = value,
            "territory" => f.territory = value,
            "address" => f.address = value,
            _ => {}
        }
    }
    Ok(f)
}

/// `POST /widget/{code}/submit`.
async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    mp: Multipart,
) -> Response {
    if !origin_ok(&headers) {
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Форма отправлена с другого сайта.",
            &[],
        );
    }
    let org = match organisation(&state, &code).await {
        Ok(o) => o,
        Err(res) => return res,
    };
    let citizen = match Citizen::of_request(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let mut res = sign_in_invitation(&state, &org);
            *res.status_mut() = StatusCode::FORBIDDEN;
            return res;
        }
        Err(res) => return res,
    };
    let Some(wf) = state.inner.workflow.clone() else {
        return notice(
            StatusCode::SERVICE_UNAVAILABLE,
            "Сервис недоступен",
            "Приём сообщений временно недоступен.",
            &[],
        );
    };
    let files = state.citizen_config().attachments.clone();
    let max_file = files.as_ref().map_or(0, |f| f.limits().max_bytes);
    let allowed_files = if files.is_some() {
        max_files(&state)
    } else {
        0
    };
    let fields = match read_fields(mp, max_file, allowed_files).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    if !citizen.csrf_ok(&fields.csrf) {
        tracing::warn!(user = %citizen.id(), "widget CSRF token missing or wrong");
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Форма устарела или отправлена не с нашей страницы (неверный CSRF-токен). Откройте форму заново.",
            &[],
        );
    }
    let key_ok = (16..=64).contains(&fields.key.len())
        && fields
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !key_ok {
        return bad_request("Форма повреждена. Откройте её заново.", &org.code);
    }
    let text = fields.text.trim().to_owned();
    if text.is_empty() {
        return bad_request("Опишите проблему: текст сообщения пуст.", &org.code);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return bad_request(
            &format!("Текст длиннее {MAX_TEXT_CHARS} знаков. Сократите его."),
            &org.code,
        );
    }
    let category_hint = match fields.subcategory.trim() {
        "" => None,
        s if state
            .inner
            .info
            .tree
            .subcategory(&SubcategoryId(s.to_owned()))
            .is_some() =>
        {
            Some(SubcategoryId(s.to_owned()))
        }
        _ => return bad_request("Выбранной темы нет в классификаторе.", &org.code),
    };
    let territory = match fields.territory.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) => match state.store().territories().await {
                Ok(all) if all.iter().any(|x| x.id.get() == id) => Some(TerritoryId(id)),
                Ok(_) => return bad_request("Такой территории нет.", &org.code),
                Err(e) => return internal(&e),
            },
            Err(_) => return bad_request("Такой территории нет.", &org.code),
        },
    };
    let address: String = fields.address.trim().chars().take(300).collect();
    if territory.is_none() && address.is_empty() {
        return bad_request(
            "Укажите населённый пункт или адрес, чтобы сообщение попало к тем, кто решает проблему.",
            &org.code,
        );
    }
    // Every file is checked before any is stored.
    let mut attachments = Vec::new();
    if let Some(files) = &files {
        for u in &fields.uploads {
            if let Err(e) = files.check(&u.content, u.mime.as_deref()) {
                return attachment_refused(&e, &u.name, &org.code);
            }
        }
        let t = now();
        for u in fields.uploads {
            match state
                .store()
                .save_attachment(files, &u.name, u.mime.as_deref(), u.content, t)
                .await
            {
                Ok(a) => attachments.push(a.id.to_string()),
                Err(e) => return attachment_refused(&e, &u.name, &org.code),
            }
        }
    }
    let submission = Submission {
        channel: Channel::Widget,
        text,
        category_hint,
        territory,
        address: (!address.is_empty()).then_some(address),
        submitted_via: Some(org.id),
        author: Some(citizen.id()),
        contact: citizen.user.email.clone(),
        attachments,
    };
    let key = format!("widget:{}:{}", citizen.id(), fields.key);
    let id = match wf.submit(&submission, &key, now()).await {
        Ok(intake) => intake.record.message.id,
        // The same form sent twice (with its files stored again): the first message.
        Err(WorkflowError::KeyReused { message, .. }) => message,
        Err(WorkflowError::Invalid(msg)) => {
            tracing::info!(%msg, "widget submission refused");
            return bad_request("Сообщение не принято: проверьте поля формы.", &org.code);
        }
        Err(e) => return internal(&e),
    };
    tracing::info!(message = %id, organisation = %org.code, "widget submission");
    let mut res = Redirect::to(&format!("/widget/{}/sent/{id}", org.code)).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    res
}

fn attachment_refused(e: &AttachmentError, name: &str, code: &str) -> Response {
    let name: String = name.chars().take(100).collect();
    match e {
        AttachmentError::TooLarge { max, .. } => too_large(&format!(
            "Файл «{name}» больше {} МБ. Уменьшите его и отправьте снова.",
            max / (1024 * 1024)
        )),
        AttachmentError::TypeNotAllowed { .. } => notice(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Файл не принят",
            &format!(
                "Файл «{name}» не является фотографией JPEG, PNG, WebP или документом PDF. Приложите файл одного из этих форматов."
            ),
            &[(format!("/widget/{code}").as_str(), "Вернуться к форме")],
        ),
        AttachmentError::Empty => bad_request(&format!("Файл «{name}» пуст."), code),
        other => internal(other),
    }
}

/// `GET /widget/{code}/sent/{id}`: the confirmation (to the message's author only).
pub(crate) async fn sent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    let org = match organisation(&state, &code).await {
        Ok(o) => o,
        Err(res) => return res,
    };
    let citizen = match Citizen::of_request(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => return sign_in_invitation(&state, &org),
        Err(res) => return res,
    };
    let Ok(id) = id.parse::<i64>() else {
        return unknown_widget();
    };
    match state.store().message_record(MessageId(id)).await {
        Ok(Some(r)) if r.message.author == Some(citizen.id()) => {
            let body = format!(
                "<h1>Сообщение принято</h1><p class=\"ok\" role=\"status\">Ваше сообщение № {id} зарегистрировано. \
Ответ нужно дать до {deadline}.</p>\
<p><a href=\"/my/messages/{id}\" target=\"_blank\" rel=\"noopener\">Следить за ответом</a> · \
<a href=\"/widget/{code}\">Написать ещё</a></p>",
                deadline = super::pages::date_ru(r.message.deadline_at),
                code = escape(&org.code),
            );
            citizen_page(StatusCode::OK, "Сообщение принято", &body)
        }
        Ok(_) => unknown_widget(),
        Err(e) => internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_widget_pages_are_framable() {
        assert!(framable("/widget/adm1"));
        assert!(framable("/widget/adm1/sent/5"));
        assert!(!framable("/widget.js"));
        assert!(!framable("/my/messages"));
        assert!(!framable("/office"));
        assert!(WIDGET_CSP.contains("script-src 'self'"));
    }

    #[test]
    fn widget_codes_are_plain() {
        assert!(valid_code("adm1"));
        assert!(valid_code("min-zdrav_38.1"));
        assert!(!valid_code(""));
        assert!(!valid_code("a/b"));
        assert!(!valid_code("<script>"));
    }
}
