//! Russian e-mail templates: a plain-text and an HTML body for each notice, every inserted value
//! escaped for HTML, links only when they are `http(s)` URLs, subjects kept to one line.

use otklik_domain::{MessageId, Timestamp};
use otklik_store::NewEmail;

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The template's name («received», «answer_ready», «clarification», «escalation»).
    pub template: &'static str,
    /// Subject, one line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body with every value escaped.
    pub html: String,
}

impl Rendered {
    /// The outbox row for this e-mail to `recipient`, deduplicated by `idempotency_key`.
    pub fn into_new_email(
        self,
        idempotency_key: impl Into<String>,
        message: Option<MessageId>,
        recipient: impl Into<String>,
        max_attempts: u32,
    ) -> NewEmail {
        NewEmail {
            idempotency_key: idempotency_key.into(),
            message,
            template: self.template.to_owned(),
            recipient: recipient.into(),
            subject: self.subject,
            body_text: self.text,
            body_html: Some(self.html),
            max_attempts,
        }
    }
}

/// Escapes `s` for HTML text and attribute values (`& < > " '`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with line breaks kept as `<br>`.
fn html_paragraph(s: &str) -> String {
    escape_html(s.trim())
        .replace("\r\n", "\n")
        .replace('\n', "<br>\n")
}

/// `url` when it is an absolute `http://` or `https://` URL without spaces or controls.
fn safe_url(url: &str) -> Option<&str> {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && u.len() > "https://".len()
        && !u.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(u)
}

/// One line, without control characters, at most 150 characters.
fn one_line(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_end();
    if out.chars().count() > 150 {
        let mut cut: String = out.chars().take(149).collect();
        cut.push('…');
        cut
    } else {
        out.to_owned()
    }
}

/// `text` shortened to `max` characters with an ellipsis.
fn excerpt(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.chars().count() <= max {
        t.to_owned()
    } else {
        let mut s: String = t.chars().take(max).collect();
        s.push('…');
        s
    }
}

/// `ДД.ММ.ГГГГ ЧЧ:ММ` of `at` in a zone `utc_offset_minutes` east of UTC.
pub fn format_local(at: Timestamp, utc_offset_minutes: i32) -> String {
    let local = at
        .millis()
        .saturating_add(i64::from(utc_offset_minutes) * 60_000);
    let days = local.div_euclid(86_400_000);
    let minute_of_day = local.rem_euclid(86_400_000) / 60_000;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{d:02}.{m:02}.{y} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

fn greeting(name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("Здравствуйте, {}!", one_line(n)),
        None => "Здравствуйте!".to_owned(),
    }
}

const SIGNATURE: &str =
    "Это письмо отправлено автоматически системой «Отклик», отвечать на него не нужно.";

fn html_doc(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}<p style=\"color:#666\">{}</p>\n</body></html>\n",
        escape_html(title),
        escape_html(SIGNATURE)
    )
}

fn link_html(url: Option<&str>, label: &str) -> String {
    match url.and_then(safe_url) {
        Some(u) => format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            escape_html(u),
            escape_html(label)
        ),
        None => String::new(),
    }
}

fn link_text(url: Option<&str>, label: &str) -> String {
    match url.and_then(safe_url) {
        Some(u) => format!("{label}: {u}\n\n"),
        None => String::new(),
    }
}

/// «Ваше сообщение принято»: sent to the citizen on registration.
#[derive(Debug, Clone, Copy)]
pub struct MessageReceived<'a> {
    /// The citizen's name, if known.
    pub citizen_name: Option<&'a str>,
    /// The message's number.
    pub message: MessageId,
    /// What the citizen wrote (an excerpt is quoted).
    pub text: &'a str,
    /// The answer deadline.
    pub deadline: Timestamp,
    /// The region's UTC offset, minutes (for dates).
    pub utc_offset_minutes: i32,
    /// Where to follow the message, if there is a page.
    pub status_url: Option<&'a str>,
}

impl MessageReceived<'_> {
    /// Renders the e-mail.
    pub fn render(&self) -> Rendered {
        let n = self.message.get();
        let deadline = format_local(self.deadline, self.utc_offset_minutes);
        let quote = excerpt(self.text, 300);
        let subject = one_line(&format!("Ваше сообщение № {n} принято"));
        let text = format!(
            "{}\n\nВаше сообщение зарегистрировано под номером {n}:\n«{quote}»\n\nОтвет будет дан не позднее {deadline}.\n\n{}{SIGNATURE}\n",
            greeting(self.citizen_name),
            link_text(self.status_url, "Следить за рассмотрением"),
        );
        let html = html_doc(
            &subject,
            &format!(
                "<p>{}</p>\n<p>Ваше сообщение зарегистрировано под номером <b>{n}</b>:</p>\n<blockquote>{}</blockquote>\n<p>Ответ будет дан не позднее <b>{}</b>.</p>\n{}",
                escape_html(&greeting(self.citizen_name)),
                html_paragraph(&quote),
                escape_html(&deadline),
                link_html(self.status_url, "Следить за рассмотрением"),
            ),
        );
        Rendered {
            template: "received",
            subject,
            text,
            html,
        }
    }
}

/// «Ответ готов»: the answer, with the link to rate it.
#[derive(Debug, Clone, Copy)]
pub struct AnswerReady<'a> {
    /// The citizen's name, if known.
    pub citizen_name: Option<&'a str>,
    /// The message's number.
    pub message: MessageId,
    /// Who answers.
    pub organisation: &'a str,
    /// The answer.
    pub answer: &'a str,
    /// The signed rating link ([`crate::RatingLinks::link`]).
    pub rating_url: &'a str,
    /// Until when the rating link works.
    pub rating_expires_at: Timestamp,
    /// The region's UTC offset, minutes.
    pub utc_offset_minutes: i32,
}

impl AnswerReady<'_> {
    /// Renders the e-mail.
    pub fn render(&self) -> Rendered {
        let n = self.message.get();
        let until = format_local(self.rating_expires_at, self.utc_offset_minutes);
        let subject = one_line(&format!("Ответ на ваше сообщение № {n}"));
        let org = one_line(self.organisation);
        let text = format!(
            "{}\n\n{org} ответил(а) на ваше сообщение № {n}:\n\n{}\n\n{}Ссылка работает один раз, до {until}.\n\n{SIGNATURE}\n",
            greeting(self.citizen_name),
            self.answer.trim(),
            link_text(Some(self.rating_url), "Оцените ответ по шкале от 1 до 5"),
        );
        let html = html_doc(
            &subject,
            &format!(
                "<p>{}</p>\n<p>{} ответил(а) на ваше сообщение № <b>{n}</b>:</p>\n<blockquote>{}</blockquote>\n{}<p>Ссылка работает один раз, до {}.</p>\n",
                escape_html(&greeting(self.citizen_name)),
                escape_html(&org),
                html_paragraph(self.answer),
                link_html(Some(self.rating_url), "Оценить ответ (от 1 до 5)"),
                escape_html(&until),
            ),
        );
        Rendered {
            template: "answer_ready",
            subject,
            text,
            html,
        }
    }
}

/// «Требуется уточнение»: the executor's question to the citizen; the deadline is paused.
#[derive(Debug, Clone, Copy)]
pub struct ClarificationRequested<'a> {
    /// The citizen's name, if known.
    pub citizen_name: Option<&'a str>,
    /// The message's number.
    pub message: MessageId,
    /// The question.
    pub question: &'a str,
    /// Where to answer, if there is a page.
    pub reply_url: Option<&'a str>,
}

impl ClarificationRequested<'_> {
    /// Renders the e-mail.
    pub fn render(&self) -> Rendered {
        let n = self.message.get();
        let subject = one_line(&format!("Требуется уточнение по сообщению № {n}"));
        let text = format!(
            "{}\n\nЧтобы рассмотреть ваше сообщение № {n}, нужно уточнение:\n\n{}\n\nСрок рассмотрения приостановлен до вашего ответа.\n\n{}{SIGNATURE}\n",
            greeting(self.citizen_name),
            self.question.trim(),
            link_text(self.reply_url, "Ответить"),
        );
        let html = html_doc(
            &subject,
            &format!(
                "<p>{}</p>\n<p>Чтобы рассмотреть ваше сообщение № <b>{n}</b>, нужно уточнение:</p>\n<blockquote>{}</blockquote>\n<p>Срок рассмотрения приостановлен до вашего ответа.</p>\n{}",
                escape_html(&greeting(self.citizen_name)),
                html_paragraph(self.question),
                link_html(self.reply_url, "Ответить"),
            ),
        );
        Rendered {
            template: "clarification",
            subject,
            text,
            html,
        }
    }
}

/// How urgent an escalation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EscalationLevel {
    /// The deadline is near.
    AtRisk,
    /// The deadline has passed.
    Overdue,
}

/// A deadline escalation to the curator or the head of the executing organisation.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineEscalation<'a> {
    /// The recipient's name, if known.
    pub recipient_name: Option<&'a str>,
    /// The message's number.
    pub message: MessageId,
    /// The executing organisation.
    pub organisation: &'a str,
    /// The message's subcategory or short description.
    pub topic: &'a str,
    /// The deadline.
    pub deadline: Timestamp,
    /// The region's UTC offset, minutes.
    pub utc_offset_minutes: i32,
    /// At risk or overdue.
    pub level: EscalationLevel,
    /// The message in the control view, if there is a page.
    pub control_url: Option<&'a str>,
}

impl DeadlineEscalation<'_> {
    /// Renders the e-mail.
    pub fn render(&self) -> Rendered {
        let n = self.message.get();
        let deadline = format_local(self.deadline, self.utc_offset_minutes);
        let (subject, state) = match self.level {
            EscalationLevel::AtRisk => (
                format!("Срок ответа по сообщению № {n} истекает"),
                format!("Срок ответа истекает {deadline}."),
            ),
            EscalationLevel::Overdue => (
                format!("Просрочен ответ по сообщению № {n}"),
                format!("Срок ответа истёк {deadline}."),
            ),
        };
        let subject = one_line(&subject);
        let org = one_line(self.organisation);
        let topic = one_line(self.topic);
        let text = format!(
            "{}\n\nСообщение № {n} «{topic}», исполнитель — {org}.\n{state}\nПримите меры или согласуйте перенос срока с указанием причины.\n\n{}{SIGNATURE}\n",
            greeting(self.recipient_name),
            link_text(self.control_url, "Открыть сообщение"),
        );
        let html = html_doc(
            &subject,
            &format!(
                "<p>{}</p>\n<p>Сообщение № <b>{n}</b> «{}», исполнитель — {}.</p>\n<p><b>{}</b></p>\n<p>Примите меры или согласуйте перенос срока с указанием причины.</p>\n{}",
                escape_html(&greeting(self.recipient_name)),
                escape_html(&topic),
                escape_html(&org),
                escape_html(&state),
                link_html(self.control_url, "Открыть сообщение"),
            ),
        );
        Rendered {
            template: "escalation",
            subject,
            text,
            html,
        }
    }
}

/// «Всплеск по сохранённому поиску»: today's matches of an analyst's saved search are far
/// above their daily count over the trailing days.
#[derive(Debug, Clone, Copy)]
pub struct SearchSpikeAlert<'a> {
    /// The recipient's name, if known.
    pub recipient_name: Option<&'a str>,
    /// The saved search's name.
    pub search_name: &'a str,
    /// Its query text (empty: every document of its filters).
    pub query: &'a str,
    /// The day, `ДД.ММ.ГГГГ`.
    pub day: &'a str,
    /// Matching documents today.
    pub today: u64,
    /// Mean matching documents per trailing day.
    pub mean_per_day: f64,
    /// Trailing days compared with.
    pub trailing_days: u32,
    /// A few of today's matching texts (excerpts are quoted).
    pub examples: &'a [String],
    /// The search in the back-office, if there is a page.
    pub search_url: Option<&'a str>,
}

impl SearchSpikeAlert<'_> {
    /// Renders the e-mail.
    pub fn render(&self) -> Rendered {
        let name = one_line(self.search_name);
        let query = one_line(self.query);
        let day = one_line(self.day);
        let subject = one_line(&format!(
            "Всплеск по поиску «{name}»: {} за {day}",
            self.today
        ));
        let mean = format!("{:.1}", self.mean_per_day).replace('.', ",");
        let query_line = if query.is_empty() {
            "все сообщения и публикации по фильтрам поиска".to_owned()
        } else {
            format!("«{query}»")
        };
        let state = format!(
            "За {day} найдено {} сообщений и публикаций по запросу {query_line}; в среднем за предыдущие {} дн. — {mean} в день.",
            self.today, self.trailing_days
        );
        let quotes: Vec<String> = self.examples.iter().map(|e| excerpt(e, 200)).collect();
        let mut text = format!("{}\n\n{state}\n", greeting(self.recipient_name));
        if !quotes.is_empty() {
            text.push_str("\nНапример:\n");
            for q in &quotes {
                text.push_str(&format!("— «{q}»\n"));
            }
        }
        text.push('\n');
        text.push_str(&link_text(self.search_url, "Открыть поиск"));
        text.push_str(SIGNATURE);
        text.push('\n');
        let mut body = format!(
            "<p>{}</p>\n<p>{}</p>\n",
            escape_html(&greeting(self.recipient_name)),
            escape_html(&state)
        );
        if !quotes.is_empty() {
            body.push_str("<p>Например:</p>\n<ul>\n");
            for q in &quotes {
                body.push_str(&format!("<li>{}</li>\n", html_paragraph(q)));
            }
            body.push_str("</ul>\n");
        }
        body.push_str(&link_html(self.search_url, "Открыть поиск"));
        Rendered {
            template: "search_spike",
            subject: subject.clone(),
            text,
            html: html_doc(&subject, &body),
        }
    }
}

#[cfg(test)]
mod search_spike_tests {
    use super::*;

    #[test]
    fn search_spike_alert_renders_in_russian_and_escapes() {
        let examples = vec![
            "Прорыв трубы на ул. Ленина <b>снова</b>".to_owned(),
            "Нет воды второй день".to_owned(),
        ];
        let r = SearchSpikeAlert {
            recipient_name: Some("Аналитик"),
            search_name: "Прорывы\nтруб",
            query: "прорыв трубы",
            day: "15.10.2026",
            today: 12,
            mean_per_day: 1.25,
            trailing_days: 28,
            examples: &examples,
            search_url: Some("https://otklik.example/search?q=x"),
        }
        .render();
        assert_eq!(r.template, "search_spike");
        assert_eq!(
            r.subject,
            "Всплеск по поиску «Прорывы труб»: 12 за 15.10.2026"
        );
        assert!(r.text.starts_with("Здравствуйте, Аналитик!"), "{}", r.text);
        assert!(r.text.contains("найдено 12"), "{}", r.text);
        assert!(
            r.text.contains("1,2 в день") || r.text.contains("1,3 в день"),
            "{}",
            r.text
        );
        assert!(r.text.contains("— «Нет воды второй день»"));
        assert!(r.html.contains("&lt;b&gt;снова&lt;/b&gt;"), "{}", r.html);
        assert!(!r.html.contains("<b>снова"));
        assert!(
            r.html
                .contains("href=\"https://otklik.example/search?q=x\"")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-03-14 15:00 UTC = 18:00 Moscow.
    const DEADLINE: Timestamp = Timestamp(1_741_964_400_000);

    #[test]
    fn formats_local_dates() {
        assert_eq!(format_local(DEADLINE, 180), "14.03.2025 18:00");
        assert_eq!(format_local(DEADLINE, 600), "15.03.2025 01:00");
        assert_eq!(format_local(Timestamp(0), 0), "01.01.1970 00:00");
        assert_eq!(
            format_local(Timestamp(951_782_400_000), 0),
            "29.02.2000 00:00"
        );
        assert_eq!(format_local(Timestamp(-1), 0), "31.12.1969 23:59");
    }

    #[test]
    fn html_is_escaped_everywhere() {
        let evil = "<script>alert('x')</script> & \"q\"";
        let r = MessageReceived {
            citizen_name: Some("<b>Иван</b>"),
            message: MessageId(7),
            text: evil,
            deadline: DEADLINE,
            utc_offset_minutes: 180,
            status_url: Some("javascript:alert(1)"),
        }
        .render();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(!r.html.contains("<b>Иван"), "{}", r.html);
        assert!(
            r.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        );
        assert!(!r.html.contains("javascript:"), "only http(s) links");
        assert!(!r.text.contains("javascript:"));
        assert!(
            r.text.contains(evil),
            "plain text keeps the words as written"
        );
        assert!(r.text.contains("не позднее 14.03.2025 18:00"));
        assert_eq!(r.subject, "Ваше сообщение № 7 принято");
        assert_eq!(r.template, "received");
    }

    #[test]
    fn answer_ready_carries_the_rating_link() {
        let url = "https://otklik.example/rate?t=abc_DEF-123";
        let r = AnswerReady {
            citizen_name: None,
            message: MessageId(42),
            organisation: "Администрация\r\nBcc: x@y",
            answer: "Яма заделана.\nСпасибо за обращение.",
            rating_url: url,
            rating_expires_at: DEADLINE,
            utc_offset_minutes: 180,
        }
        .render();
        assert!(r.text.contains(url));
        assert!(r.html.contains(&format!("href=\"{url}\"")));
        assert!(r.html.contains("Яма заделана.<br>\nСпасибо"));
        assert!(r.text.starts_with("Здравствуйте!"));
        assert!(
            r.text.contains("Администрация Bcc: x@y ответил"),
            "{}",
            r.text
        );
        assert!(!r.subject.contains('\n'));
        let attr = AnswerReady {
            rating_url: "https://x/\"><script>",
            ..AnswerReady {
                citizen_name: None,
                message: MessageId(1),
                organisation: "О",
                answer: "a",
                rating_url: "",
                rating_expires_at: DEADLINE,
                utc_offset_minutes: 180,
            }
        }
        .render();
        assert!(
            attr.html
                .contains("href=\"https://x/&quot;&gt;&lt;script&gt;\""),
            "{}",
            attr.html
        );
    }

    #[test]
    fn clarification_and_escalations_render_in_russian() {
        let c = ClarificationRequested {
            citizen_name: Some("Мария"),
            message: MessageId(5),
            question: "Уточните адрес: дом 5 или 7?",
            reply_url: Some("https://otklik.example/m/5"),
        }
        .render();
        assert_eq!(c.subject, "Требуется уточнение по сообщению № 5");
        assert!(c.text.starts_with("Здравствуйте, Мария!"));
        assert!(c.text.contains("приостановлен"));
        let e = |level| {
            DeadlineEscalation {
                recipient_name: Some("куратор"),
                message: MessageId(9),
                organisation: "МКУ «Дороги»",
                topic: "Ямы на дорогах",
                deadline: DEADLINE,
                utc_offset_minutes: 180,
                level,
                control_url: None,
            }
            .render()
        };
        let risk = e(EscalationLevel::AtRisk);
        let overdue = e(EscalationLevel::Overdue);
        assert_eq!(risk.subject, "Срок ответа по сообщению № 9 истекает");
        assert_eq!(overdue.subject, "Просрочен ответ по сообщению № 9");
        assert!(overdue.text.contains("истёк 14.03.2025 18:00"));
        assert!(risk.html.contains("МКУ «Дороги»"));
        assert_eq!(risk.template, "escalation");
        let email = risk.into_new_email("esc:9:at_risk", Some(MessageId(9)), "head@example.org", 5);
        assert_eq!(email.template, "escalation");
        assert_eq!(email.max_attempts, 5);
        assert!(email.body_html.is_some());
    }

    #[test]
    fn long_subjects_and_quotes_are_shortened() {
        assert_eq!(one_line(&"я".repeat(400)).chars().count(), 150);
        assert_eq!(one_line("  a\r\n\tb  "), "a b");
        assert_eq!(excerpt(&"б".repeat(400), 300).chars().count(), 301);
    }
}
