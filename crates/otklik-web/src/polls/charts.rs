//! Results as server-rendered inline SVG bar charts, each with the same numbers in a table
//! beside it (screen readers read the table; the chart is `role="img"` with a title and a
//! description pointing at the table). No scripts, no external resources.

use otklik_domain::PollKind;
use otklik_polls::{PollResults, group_digits};

use crate::html::escape;

/// One bar.
pub(crate) struct Bar {
    /// The option's label.
    pub label: String,
    /// Its length (any unit; the longest bar fills the chart).
    pub value: f64,
    /// The text printed after the bar («12 · 40 %»).
    pub text: String,
    /// Drawn in the highlight colour (funded projects).
    pub highlight: bool,
}

const WIDTH: u32 = 720;
const LABEL_W: u32 = 260;
const BAR_MAX: u32 = 320;
const ROW: u32 = 30;

fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// A horizontal bar chart (`id` makes its title and description ids unique in the page).
pub(crate) fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> String {
    let height = ROW * u32::try_from(bars.len()).unwrap_or(0) + 10;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut out = format!(
        "<svg class=\"chart\" style=\"max-width:100%;height:auto\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\">\
<title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">Диаграмма; те же данные — в таблице рядом.</desc>",
        title = escape(title),
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 5 + ROW * u32::try_from(i).unwrap_or(0);
        let len = if max > 0.0 {
            // At most BAR_MAX pixels: a small float, exact enough.
            ((b.value / max) * f64::from(BAR_MAX)).round().max(0.0) as u32
        } else {
            0
        };
        let fill = if b.highlight { "#2e7d32" } else { "#0b5cad" };
        out.push_str(&format!(
            "<g><title>{full}: {text}</title>\
<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"13\" fill=\"#1b1f24\">{label}</text>\
<rect x=\"{bx}\" y=\"{y}\" width=\"{len}\" height=\"{h}\" fill=\"{fill}\" rx=\"2\"></rect>\
<text x=\"{vx}\" y=\"{ty}\" font-size=\"13\" fill=\"#1b1f24\">{text}</text></g>",
            full = escape(&b.label),
            text = escape(&b.text),
            label = escape(&short(&b.label, 34)),
            lx = LABEL_W - 8,
            ty = y + 16,
            bx = LABEL_W,
            h = ROW - 8,
            vx = LABEL_W + len + 6,
        ));
    }
    out.push_str("</svg>");
    out
}

fn percent(p: f64) -> String {
    format!("{:.1}", p).replace('.', ",")
}

/// The results of a poll: the charts and tables (and the free-text answers), as HTML.
pub(crate) fn results_html(r: &PollResults) -> String {
    let mut out = format!(
        "<p>Проголосовали: <strong id=\"turnout\">{}</strong>. {}</p>",
        r.ballots,
        if r.final_results {
            "Итоги окончательные."
        } else {
            "Голосование идёт: итоги промежуточные."
        }
    );
    if r.kind == PollKind::FreeText {
        out.push_str("<h2>Ответы</h2>");
        if r.answers.is_empty() {
            out.push_str("<p>Ответов пока нет.</p>");
            return out;
        }
        out.push_str("<table><caption>Свободные ответы</caption><thead><tr><th scope=\"col\">№</th><th scope=\"col\">Ответ</th></tr></thead><tbody>");
        for (a, i) in r.answers.iter().zip(1..) {
            out.push_str(&format!(
                "<tr><td class=\"n\">{i}</td><td class=\"answer-text\">{}</td></tr>",
                escape(&a.text)
            ));
        }
        out.push_str("</tbody></table>");
        return out;
    }
    let (chart_title, bars): (&str, Vec<Bar>) = match r.kind {
        PollKind::Ranking => (
            "Баллы по методу Борда",
            r.options
                .iter()
                .map(|o| Bar {
                    label: o.label.clone(),
                    value: o.borda.unwrap_or(0) as f64,
                    text: format!("{} балл.", o.borda.unwrap_or(0)),
                    highlight: false,
                })
                .collect(),
        ),
        _ => (
            "Голоса по вариантам",
            r.options
                .iter()
                .map(|o| Bar {
                    label: o.label.clone(),
                    value: o.votes as f64,
                    text: format!("{} · {} %", o.votes, percent(o.percent)),
                    highlight: o.funded == Some(true),
                })
                .collect(),
        ),
    };
    out.push_str("<div class=\"results\"><figure>");
    out.push_str(&bar_chart("results-chart", chart_title, &bars));
    out.push_str(&format!(
        "<figcaption>{}</figcaption></figure>",
        escape(chart_title)
    ));
    let mut head = String::from(
        "<th scope=\"col\">Место</th><th scope=\"col\">Вариант</th><th scope=\"col\">Голосов</th><th scope=\"col\">Доля, %</th>",
    );
    match r.kind {
        PollKind::Ranking => {
            head.push_str("<th scope=\"col\">Баллы (Борда)</th><th scope=\"col\">Средний ранг</th>")
        }
        PollKind::Budget => head.push_str(
            "<th scope=\"col\">Стоимость, руб.</th><th scope=\"col\">Проходит в бюджет</th>",
        ),
        _ => {}
    }
    out.push_str(&format!(
        "<table class=\"results-table\"><caption>{}</caption><thead><tr>{head}</tr></thead><tbody>",
        escape(chart_title)
    ));
    for o in &r.options {
        out.push_str(&format!(
            "<tr><td class=\"n\">{}</td><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            o.place,
            escape(&o.label),
            o.votes,
            percent(o.percent)
        ));
        match r.kind {
            PollKind::Ranking => out.push_str(&format!(
                "<td class=\"n\">{}</td><td class=\"n\">{}</td>",
                o.borda.unwrap_or(0),
                o.average_rank
                    .map_or_else(|| "—".to_owned(), |a| format!("{a:.2}").replace('.', ","))
            )),
            PollKind::Budget => out.push_str(&format!(
                "<td class=\"n\">{}</td><td>{}</td>",
                o.cost.map_or_else(|| "—".to_owned(), group_digits),
                if o.funded == Some(true) {
                    "да"
                } else {
                    "нет"
                }
            )),
            _ => {}
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if let Some(b) = &r.budget {
        out.push_str(&format!(
            "<p>Бюджет: {} руб. Проходят проекты на {} руб. Средний бюллетень: {} руб.</p>",
            group_digits(b.cap),
            group_digits(b.funded_total),
            group_digits(b.average_ballot_total.round() as i64)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_and_escape_labels() {
        let svg = bar_chart(
            "c",
            "Голоса",
            &[
                Bar {
                    label: "<script>alert(1)</script>".into(),
                    value: 10.0,
                    text: "10".into(),
                    highlight: false,
                },
                Bar {
                    label: "Сквер".into(),
                    value: 5.0,
                    text: "5".into(),
                    highlight: true,
                },
            ],
        );
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"c-title c-desc\""));
        assert!(svg.contains(&format!("width=\"{BAR_MAX}\"")));
        assert!(svg.contains(&format!("width=\"{}\"", BAR_MAX / 2)));
        assert!(svg.contains("#2e7d32"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        // No votes: no bars, no division by zero.
        let empty = bar_chart(
            "e",
            "Голоса",
            &[Bar {
                label: "A".into(),
                value: 0.0,
                text: "0".into(),
                highlight: false,
            }],
        );
        assert!(empty.contains("width=\"0\""));
    }
}
