//! Poll definitions: what a poll manager may write, checked before it is stored and again
//! before it goes to moderation. Pure functions.

use std::collections::HashSet;

use otklik_domain::PollKind;
use otklik_store::PollDraft;

use crate::topics::PollTopics;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest option label, in characters.
pub const MAX_LABEL_CHARS: usize = 500;
/// Most options a poll may have.
pub const MAX_OPTIONS: usize = 100;
/// Longest free-text answer a poll may allow, in characters.
pub const MAX_TEXT_LIMIT: u32 = 10_000;
/// Free-text answer limit when the poll sets none.
pub const DEFAULT_TEXT_CHARS: u32 = 2_000;
/// Oldest minimum age a poll may set.
pub const MAX_MIN_AGE: u32 = 100;
/// Longest schedule: one year.
pub const MAX_DURATION_MS: i64 = 366 * 86_400_000;
/// Largest budget cap or project cost (a trillion roubles).
pub const MAX_MONEY: i64 = 1_000_000_000_000;

/// How many options a ballot of this poll picks, `(fewest, most)`, with the kind's defaults
/// applied: single choice exactly one; multiple choice and budget 1…all; ranking all of them
/// unless the poll says otherwise; free text none.
pub fn choice_bounds(
    kind: PollKind,
    min: Option<u32>,
    max: Option<u32>,
    options: usize,
) -> (u32, u32) {
    let n = u32::try_from(options).unwrap_or(u32::MAX);
    match kind {
        PollKind::SingleChoice => (1, 1),
        PollKind::FreeText => (0, 0),
        PollKind::MultipleChoice | PollKind::Budget => (min.unwrap_or(1), max.unwrap_or(n)),
        PollKind::Ranking => {
            let max = max.unwrap_or(n);
            (min.unwrap_or(max), max)
        }
    }
}

/// Checks a definition; every problem is reported, one line each (English, for logs and the
/// API; [`validate_draft_ru`] gives the same problems in Russian for people). `topics` is the
/// region's list: when it is not empty, the poll's topic must be one of its codes.
pub fn validate_draft(draft: &PollDraft, topics: &PollTopics) -> Result<(), Vec<String>> {
    let problems = check_draft(draft, topics);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into_iter().map(|(en, _)| en).collect())
    }
}

/// [`validate_draft`] with the problems in Russian (the back-office shows them).
pub fn validate_draft_ru(draft: &PollDraft, topics: &PollTopics) -> Result<(), Vec<String>> {
    let problems = check_draft(draft, topics);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into_iter().map(|(_, ru)| ru).collect())
    }
}

/// Every problem of `draft` as (English, Russian).
fn check_draft(draft: &PollDraft, topics: &PollTopics) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut bad = |en: String, ru: String| problems.push((en, ru));

    let title = draft.title.trim();
    if title.is_empty() {
        bad(
            "the title is empty".into(),
            "Не указан вопрос (заголовок) голосования.".into(),
        );
    } else if title.chars().count() > MAX_TITLE_CHARS {
        bad(
            format!("the title is longer than {MAX_TITLE_CHARS} characters"),
            format!("Заголовок длиннее {MAX_TITLE_CHARS} знаков."),
        );
    }
    if draft.description.chars().count() > MAX_DESCRIPTION_CHARS {
        bad(
            format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters"),
            format!("Описание длиннее {MAX_DESCRIPTION_CHARS} знаков."),
        );
    }
    match (&draft.topic, topics.is_empty()) {
        (Some(code), _) if !topics.is_empty() && topics.get(code).is_none() => {
            bad(
                format!("unknown topic {code:?}"),
                format!("Темы «{code}» нет в перечне тем голосований региона."),
            );
        }
        (None, false) => bad(
            "choose a topic from the region's list".into(),
            "Выберите тему из перечня тем голосований региона.".into(),
        ),
        _ => {}
    }
    if draft.ends_at <= draft.starts_at {
        bad(
            "the poll must end after it starts".into(),
            "Голосование должно заканчиваться позже, чем начинается.".into(),
        );
    } else if draft.ends_at.millis() - draft.starts_at.millis() > MAX_DURATION_MS {
        bad(
            "a poll may run for one year at most".into(),
            "Голосование может длиться не больше года.".into(),
        );
    }
    if let Some(age) = draft.min_age
        && age > MAX_MIN_AGE
    {
        bad(
            format!("the minimum age may be {MAX_MIN_AGE} at most"),
            format!("Минимальный возраст — не больше {MAX_MIN_AGE} лет."),
        );
    }
    match serde_json::from_str::<serde_json::Value>(&draft.settings) {
        Ok(serde_json::Value::Object(_)) => {}
        _ => bad(
            "the settings must be a JSON object".into(),
            "Настройки отображения должны быть объектом JSON.".into(),
        ),
    }

    // Options.
    let n = draft.options.len();
    let mut labels = HashSet::new();
    for (i, o) in draft.options.iter().enumerate() {
        let k = i + 1;
        let label = o.label.trim();
        if label.is_empty() {
            bad(
                format!("option {k} has no label"),
                format!("У варианта {k} нет названия."),
            );
        } else if label.chars().count() > MAX_LABEL_CHARS {
            bad(
                format!("option {k} is longer than {MAX_LABEL_CHARS} characters"),
                format!("Вариант {k} длиннее {MAX_LABEL_CHARS} знаков."),
            );
        } else if !labels.insert(label.to_lowercase()) {
            bad(
                format!("option {k} repeats the label {label:?}"),
                format!("Вариант {k} повторяет название «{label}»."),
            );
        }
        if o.description.chars().count() > MAX_DESCRIPTION_CHARS {
            bad(
                format!("the description of option {k} is too long"),
                format!("Описание варианта {k} слишком длинное."),
            );
        }
        match (draft.kind, o.cost) {
            (PollKind::Budget, None) => bad(
                format!("project {k} has no cost"),
                format!("У проекта {k} не указана стоимость."),
            ),
            (PollKind::Budget, Some(c)) if c <= 0 || c > MAX_MONEY => {
                bad(
                    format!("project {k} must cost more than 0 and at most {MAX_MONEY}"),
                    format!(
                        "Стоимость проекта {k} должна быть больше 0 и не больше {MAX_MONEY} руб."
                    ),
                );
            }
            (PollKind::Budget, Some(_)) | (_, None) => {}
            (_, Some(_)) => bad(
                format!("option {k} has a cost, but only budget polls have costs"),
                format!(
                    "У варианта {k} указана стоимость, но стоимость бывает только у проектов в голосовании о бюджете."
                ),
            ),
        }
    }
    if n > MAX_OPTIONS {
        bad(
            format!("a poll may have {MAX_OPTIONS} options at most"),
            format!("В голосовании может быть не больше {MAX_OPTIONS} вариантов."),
        );
    }
    match draft.kind {
        PollKind::FreeText => {
            if n > 0 {
                bad(
                    "a free-text poll has no options".into(),
                    "В голосовании со свободным ответом нет вариантов.".into(),
                );
            }
            if let Some(m) = draft.max_text_chars
                && (m == 0 || m > MAX_TEXT_LIMIT)
            {
                bad(
                    format!("the answer limit must be between 1 and {MAX_TEXT_LIMIT} characters"),
                    format!("Длина ответа должна быть от 1 до {MAX_TEXT_LIMIT} знаков."),
                );
            }
        }
        PollKind::Budget if n < 1 => bad(
            "a budget poll needs at least one project".into(),
            "В голосовании о бюджете нужен хотя бы один проект.".into(),
        ),
        PollKind::SingleChoice | PollKind::MultipleChoice | PollKind::Ranking if n < 2 => {
            bad(
                "a poll needs at least two options".into(),
                "Нужно хотя бы два варианта ответа.".into(),
            );
        }
        _ => {}
    }
    if draft.kind != PollKind::FreeText && draft.max_text_chars.is_some() {
        bad(
            "only free-text polls have an answer limit".into(),
            "Длину ответа задают только в голосовании со свободным ответом.".into(),
        );
    }
    match draft.kind {
        PollKind::SingleChoice | PollKind::FreeText => {
            if draft.min_choices.is_some() || draft.max_choices.is_some() {
                bad(
                    format!(
                        "a {} poll has no minimum or maximum number of choices",
                        draft.kind
                    ),
                    format!(
                        "В голосовании вида «{}» не задают наименьшее и наибольшее число вариантов.",
                        draft.kind.label_ru()
                    ),
                );
            }
        }
        PollKind::MultipleChoice | PollKind::Ranking | PollKind::Budget => {
            let (min, max) = choice_bounds(draft.kind, draft.min_choices, draft.max_choices, n);
            if min == 0 {
                bad(
                    "the minimum number of choices must be at least 1".into(),
                    "Наименьшее число выбираемых вариантов — не меньше 1.".into(),
                );
            }
            if min > max {
                bad(
                    format!("the minimum number of choices ({min}) exceeds the maximum ({max})"),
                    format!("Наименьшее число вариантов ({min}) больше наибольшего ({max})."),
                );
            }
            if usize::try_from(max).unwrap_or(usize::MAX) > n && n > 0 {
                bad(
                    format!(
                        "the maximum number of choices ({max}) exceeds the number of options ({n})"
                    ),
                    format!(
                        "Наибольшее число вариантов ({max}) больше числа вариантов ответа ({n})."
                    ),
                );
            }
        }
    }
    match (draft.kind, draft.budget_cap) {
        (PollKind::Budget, None) => bad(
            "a budget poll needs a budget cap".into(),
            "Укажите бюджет (предельную сумму) голосования.".into(),
        ),
        (PollKind::Budget, Some(cap)) => {
            if cap <= 0 || cap > MAX_MONEY {
                bad(
                    format!("the budget cap must be more than 0 and at most {MAX_MONEY}"),
                    format!("Бюджет должен быть больше 0 и не больше {MAX_MONEY} руб."),
                );
            } else if draft.options.iter().filter_map(|o| o.cost).all(|c| c > cap) && n > 0 {
                bad(
                    "every project costs more than the budget cap".into(),
                    "Каждый проект дороже всего бюджета: ни один не может пройти.".into(),
                );
            }
        }
        (_, Some(_)) => bad(
            "only budget polls have a budget cap".into(),
            "Бюджет задают только в голосовании о распределении бюджета.".into(),
        ),
        (_, None) => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use otklik_domain::{OrganisationId, ResultsVisibility, Timestamp};
    use otklik_store::NewPollOption;

    use super::*;
    use crate::topics::PollTopic;

    fn topics() -> PollTopics {
        PollTopics::new(vec![PollTopic {
            code: "improvement".into(),
            name: "Благоустройство".into(),
        }])
    }

    fn option(label: &str, cost: Option<i64>) -> NewPollOption {
        NewPollOption {
            label: label.into(),
            description: String::new(),
            cost,
        }
    }

    fn draft(kind: PollKind) -> PollDraft {
        PollDraft {
            organisation: OrganisationId(1),
            title: "Какой двор благоустроить?".into(),
            description: String::new(),
            kind,
            topic: Some("improvement".into()),
            territory: None,
            min_age: None,
            starts_at: Timestamp(1_000),
            ends_at: Timestamp(2_000),
            min_choices: None,
            max_choices: None,
            budget_cap: None,
            max_text_chars: None,
            allow_revote: false,
            results: ResultsVisibility::Live,
            settings: "{}".into(),
            options: vec![option("Двор 1", None), option("Двор 2", None)],
        }
    }

    fn problems(d: &PollDraft) -> String {
        validate_draft(d, &topics())
            .err()
            .unwrap_or_default()
            .join("\n")
    }

    #[test]
    fn a_plain_single_choice_poll_is_valid() {
        assert_eq!(
            validate_draft(&draft(PollKind::SingleChoice), &topics()),
            Ok(())
        );
    }

    #[test]
    fn title_topic_schedule_and_settings() {
        let mut d = draft(PollKind::SingleChoice);
        d.title = "  ".into();
        d.topic = Some("sport".into());
        d.ends_at = d.starts_at;
        d.settings = "[1]".into();
        let p = problems(&d);
        assert!(p.contains("the title is empty"), "{p}");
        assert!(p.contains("unknown topic \"sport\""), "{p}");
        assert!(p.contains("must end after it starts"), "{p}");
        assert!(p.contains("settings must be a JSON object"), "{p}");
        d.topic = None;
        assert!(problems(&d).contains("choose a topic"));
        // Without a list of topics, any or none is fine.
        assert!(
            !validate_draft(&d, &PollTopics::default())
                .err()
                .unwrap_or_default()
                .iter()
                .any(|p| p.contains("topic"))
        );
    }

    #[test]
    fn options_are_checked() {
        let mut d = draft(PollKind::SingleChoice);
        d.options = vec![option("Двор", None)];
        assert!(problems(&d).contains("at least two options"));
        d.options = vec![
            option("Двор", None),
            option(" двор ", None),
            option("", None),
        ];
        let p = problems(&d);
        assert!(p.contains("option 2 repeats the label"), "{p}");
        assert!(p.contains("option 3 has no label"), "{p}");
        d.options = vec![option("A", Some(5)), option("B", None)];
        assert!(problems(&d).contains("only budget polls have costs"));
        d.options = (0..=MAX_OPTIONS)
            .map(|i| option(&format!("{i}"), None))
            .collect();
        assert!(problems(&d).contains("100 options at most"));
    }

    #[test]
    fn choice_limits_per_kind() {
        let mut d = draft(PollKind::SingleChoice);
        d.max_choices = Some(1);
        assert!(problems(&d).contains("has no minimum or maximum"));

        let mut d = draft(PollKind::MultipleChoice);
        assert_eq!(validate_draft(&d, &topics()), Ok(()));
        d.min_choices = Some(2);
        d.max_choices = Some(1);
        assert!(problems(&d).contains("exceeds the maximum"));
        d.min_choices = Some(0);
        d.max_choices = None;
        assert!(problems(&d).contains("at least 1"));
        d.min_choices = None;
        d.max_choices = Some(3);
        assert!(problems(&d).contains("exceeds the number of options (2)"));

        assert_eq!(choice_bounds(PollKind::Ranking, None, None, 4), (4, 4));
        assert_eq!(choice_bounds(PollKind::Ranking, None, Some(3), 4), (3, 3));
        assert_eq!(
            choice_bounds(PollKind::Ranking, Some(1), Some(3), 4),
            (1, 3)
        );
        assert_eq!(
            choice_bounds(PollKind::MultipleChoice, None, None, 4),
            (1, 4)
        );
        assert_eq!(
            choice_bounds(PollKind::SingleChoice, Some(2), None, 4),
            (1, 1)
        );
    }

    #[test]
    fn budget_polls_need_costs_and_a_cap() {
        let mut d = draft(PollKind::Budget);
        let p = problems(&d);
        assert!(p.contains("project 1 has no cost"), "{p}");
        assert!(p.contains("needs a budget cap"), "{p}");
        d.options = vec![option("Сквер", Some(600)), option("Площадка", Some(500))];
        d.budget_cap = Some(1_000);
        assert_eq!(validate_draft(&d, &topics()), Ok(()));
        d.budget_cap = Some(100);
        assert!(problems(&d).contains("every project costs more than the budget cap"));
        d.options[0].cost = Some(0);
        assert!(problems(&d).contains("project 1 must cost more than 0"));
        let mut s = draft(PollKind::SingleChoice);
        s.budget_cap = Some(5);
        assert!(problems(&s).contains("only budget polls have a budget cap"));
    }

    #[test]
    fn problems_have_russian_twins() {
        let mut d = draft(PollKind::Budget);
        d.options = vec![option("Сквер", Some(600)), option("Площадка", Some(500))];
        d.budget_cap = Some(100);
        d.min_choices = Some(3);
        let en = validate_draft(&d, &topics()).expect_err("bad");
        let ru = validate_draft_ru(&d, &topics()).expect_err("bad");
        assert_eq!(en.len(), ru.len());
        let ru = ru.join("\n");
        assert!(ru.contains("Каждый проект дороже всего бюджета"), "{ru}");
        assert!(
            ru.contains("Наименьшее число вариантов (3) больше наибольшего (2)"),
            "{ru}"
        );
        assert_eq!(
            validate_draft_ru(&draft(PollKind::SingleChoice), &topics()),
            Ok(())
        );
    }

    #[test]
    fn free_text_polls() {
        let mut d = draft(PollKind::FreeText);
        assert!(problems(&d).contains("has no options"));
        d.options.clear();
        assert_eq!(validate_draft(&d, &topics()), Ok(()));
        d.max_text_chars = Some(0);
        assert!(problems(&d).contains("answer limit must be between"));
        let mut s = draft(PollKind::SingleChoice);
        s.max_text_chars = Some(10);
        assert!(problems(&s).contains("only free-text polls"));
    }
}
