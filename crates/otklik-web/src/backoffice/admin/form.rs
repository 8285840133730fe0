//! Form fields of the administration pages: trimmed, bounded, free of control characters, with
//! the reason in Russian when refused. Values are stored as typed and escaped when shown.

use axum::http::StatusCode;
use axum::response::Response;

use super::super::{layout, office_error};
use crate::auth::Staff;
use crate::html::escape;

/// Longest name or contact field the pages accept (the store's limit too).
pub(crate) const MAX_FIELD_CHARS: usize = otklik_store::MAX_ADMIN_TEXT_CHARS;

/// A text field: `Ok(None)` when empty and optional; `Err` with a Russian reason.
pub(crate) fn field(
    label: &str,
    value: &str,
    required: bool,
    max: usize,
) -> Result<Option<String>, String> {
    let v = value.trim();
    if v.is_empty() {
        return if required {
            Err(format!("Заполните поле «{label}»."))
        } else {
            Ok(None)
        };
    }
    if v.chars().count() > max {
        return Err(format!(
            "Поле «{label}» слишком длинное: не больше {max} символов."
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(format!(
            "Поле «{label}» содержит недопустимые (управляющие) символы."
        ));
    }
    Ok(Some(v.to_owned()))
}

/// An optional e-mail address: one `@`, no spaces, bounded.
pub(crate) fn email(label: &str, value: &str) -> Result<Option<String>, String> {
    let Some(v) = field(label, value, false, MAX_FIELD_CHARS)? else {
        return Ok(None);
    };
    let ok = v.split('@').count() == 2
        && !v.starts_with('@')
        && !v.ends_with('@')
        && !v
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''));
    if ok {
        Ok(Some(v))
    } else {
        Err(format!(
            "Поле «{label}»: неверный адрес электронной почты (пример: name@example.ru)."
        ))
    }
}

/// An optional site address: `http://` or `https://`, no spaces or quotes.
pub(crate) fn site(label: &str, value: &str) -> Result<Option<String>, String> {
    let Some(v) = field(label, value, false, MAX_FIELD_CHARS)? else {
        return Ok(None);
    };
    let lower = v.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !v
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''));
    if ok {
        Ok(Some(v))
    } else {
        Err(format!(
            "Поле «{label}»: адрес сайта должен начинаться с https:// (пример: https://adm.example.ru)."
        ))
    }
}

/// 422 with the reason and a link back to the form.
pub(crate) fn refused(staff: &Staff, back: &str, reason: &str) -> Response {
    let mut res = layout(
        staff,
        "Ошибка в форме",
        &format!(
            "<h1>Ошибка в форме</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"{}\">Вернуться</a></p>",
            escape(reason),
            escape(back)
        ),
    );
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    res
}

/// 403 in the layout.
pub(crate) fn forbidden(staff: &Staff, text: &str) -> Response {
    office_error(staff, StatusCode::FORBIDDEN, "Доступ запрещён", text)
}

/// 404 in the layout.
pub(crate) fn not_found(staff: &Staff, title: &str, text: &str) -> Response {
    office_error(staff, StatusCode::NOT_FOUND, title, text)
}

/// The status line for `?done=CODE` after a successful change.
pub(crate) fn done_note(done: Option<&str>) -> String {
    let text = match done.unwrap_or("") {
        "created" => "Пользователь создан. Задайте ему одноразовый пароль.",
        "role_granted" => "Роль назначена.",
        "role_revoked" => "Роль снята.",
        "role_kept" => "Изменений нет: роль уже была такой.",
        "blocked" => "Учётная запись заблокирована, её сеансы завершены.",
        "unblocked" => "Учётная запись разблокирована.",
        "saved" => "Изменения сохранены.",
        "source_added" => "Источник добавлен.",
        "source_enabled" => "Источник включён.",
        "source_disabled" => "Источник выключен.",
        "community_registered" => "Сообщество зарегистрировано.",
        "community_saved" => "Сведения о сообществе сохранены.",
        _ => return String::new(),
    };
    format!("<p class=\"ok\" role=\"status\">{text}</p>")
}

/// A one-time password: 16 characters from an alphabet without look-alikes (about 90 bits).
pub(crate) fn one_time_password() -> Option<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(19);
    let mut buf = [0u8; 64];
    getrandom::fill(&mut buf).ok()?;
    let mut n = 0;
    for b in buf {
        // Rejection sampling keeps the characters uniform.
        let limit = 256 - 256 % ALPHABET.len();
        if usize::from(b) >= limit {
            continue;
        }
        if n > 0 && n % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        n += 1;
        if n == 16 {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_bounded_and_clean() {
        assert_eq!(
            field("ФИО", "  Иванова ", true, 10),
            Ok(Some("Иванова".into()))
        );
        assert_eq!(field("ФИО", " ", false, 10), Ok(None));
        assert!(
            field("ФИО", " ", true, 10)
                .expect_err("refused")
                .contains("Заполните")
        );
        assert!(
            field("ФИО", &"я".repeat(11), true, 10)
                .expect_err("refused")
                .contains("длинное")
        );
        assert!(
            field("ФИО", "a\u{7}b", true, 10)
                .expect_err("refused")
                .contains("недопустимые")
        );
        assert_eq!(
            field("ФИО", "<b>'x'</b>", true, 20),
            Ok(Some("<b>'x'</b>".into()))
        );
        assert!(email("Почта", "a@b.ru").is_ok());
        assert!(email("Почта", "a b@c").is_err());
        assert!(email("Почта", "<script>@x").is_err());
        assert!(site("Сайт", "https://adm.example.ru").is_ok());
        assert!(site("Сайт", "javascript:alert(1)").is_err());
    }

    #[test]
    fn one_time_passwords_differ_and_pass_the_policy() {
        let a = one_time_password().expect("password");
        let b = one_time_password().expect("password");
        assert_ne!(a, b);
        assert_eq!(a.chars().filter(|c| *c != '-').count(), 16);
        assert!(crate::auth::check_password_policy(&a).is_ok());
    }
}
