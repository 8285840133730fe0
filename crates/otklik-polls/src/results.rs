//! Results: per-option counts and shares, ranking scores, budget totals, free-text answers;
//! CSV and XLSX exports. Pure functions over a poll's definition and its tally.
//!
//! * **Single and multiple choice**: votes per option and their share of the ballots (in a
//!   multiple-choice poll shares add up to more than 100 %). Order: most votes first.
//! * **Ranking**: the **Borda count**. With `n` options, a ballot gives the option it ranks
//!   `r`-th (1 = best) `n − r` points and an option it does not rank nothing; an option's
//!   score is the sum over ballots (`n · votes − rank_sum`). The average rank among the
//!   ballots that ranked the option is shown beside it. Order: highest score first, ties by
//!   more ballots ranking it, then display order.
//! * **Budget allocation**: votes per project; projects are funded greedily in order of votes
//!   (ties: cheaper first, then display order), each one that still fits in the cap, skipping
//!   those that do not. The summary has the funded total and the average ballot's total.
//! * **Free text**: the answers, oldest ballot first.

use otklik_domain::{PollId, PollKind, PollOptionId, PollStatus, Timestamp};
use otklik_store::{FreeTextAnswer, PollDetails, PollTally};
use serde::Serialize;

use crate::error::{PollsError, Result};
use crate::xlsx::{self, Cell};

/// One option's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionResult {
    /// 1-based place in the standing.
    pub place: u32,
    /// The option.
    pub option: PollOptionId,
    /// Its label.
    pub label: String,
    /// Ballots that pick (or rank) it.
    pub votes: i64,
    /// `votes` as a percentage of all ballots.
    pub percent: f64,
    /// Budget: the project's cost.
    pub cost: Option<i64>,
    /// Ranking: Borda score.
    pub borda: Option<i64>,
    /// Ranking: average rank among the ballots that ranked it.
    pub average_rank: Option<f64>,
    /// Budget: funded within the cap.
    pub funded: Option<bool>,
}

/// Budget allocation summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetSummary {
    /// The cap.
    pub cap: i64,
    /// Total cost of the funded projects (≤ cap).
    pub funded_total: i64,
    /// The funded projects, in funding order.
    pub funded: Vec<PollOptionId>,
    /// The average ballot's total.
    pub average_ballot_total: f64,
}

/// A poll's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollResults {
    /// The poll.
    pub poll: PollId,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: PollKind,
    /// Its status when the results were computed.
    pub status: PollStatus,
    /// Voting is over (closed, or past the end time): the results are final.
    pub final_results: bool,
    /// Ballots counted (one per voter).
    pub ballots: i64,
    /// Per option, in standing order (empty for free text).
    pub options: Vec<OptionResult>,
    /// Budget allocation summary.
    pub budget: Option<BudgetSummary>,
    /// Free-text answers.
    pub answers: Vec<FreeTextAnswer>,
}

/// Computes the results of `poll` from its `tally` (and its free-text `answers`).
pub fn compute(
    poll: &PollDetails,
    tally: &PollTally,
    answers: Vec<FreeTextAnswer>,
    now: Timestamp,
) -> PollResults {
    let kind = poll.poll.kind;
    let n = i64::try_from(poll.options.len()).unwrap_or(i64::MAX);
    let ballots = tally.ballots;
    let percent = |votes: i64| {
        if ballots > 0 {
            // Counts are far below 2^53: exact as f64.
            (votes as f64) * 100.0 / (ballots as f64)
        } else {
            0.0
        }
    };
    let mut options: Vec<OptionResult> = poll
        .options
        .iter()
        .map(|o| {
            let t = tally.options.iter().find(|t| t.option == o.id);
            let votes = t.map_or(0, |t| t.votes);
            let rank_sum = t.map_or(0, |t| t.rank_sum);
            let ranking = kind == PollKind::Ranking;
            OptionResult {
                place: 0,
                option: o.id,
                label: o.label.clone(),
                votes,
                percent: percent(votes),
                cost: o.cost,
                borda: ranking.then(|| n * votes - rank_sum),
                average_rank: (ranking && votes > 0).then(|| rank_sum as f64 / votes as f64),
                funded: (kind == PollKind::Budget).then_some(false),
            }
        })
        .collect();
    // Display order is the options' order; sorts below are stable.
    match kind {
        PollKind::Ranking => {
            options.sort_by(|a, b| b.borda.cmp(&a.borda).then(b.votes.cmp(&a.votes)))
        }
        PollKind::Budget => options.sort_by(|a, b| b.votes.cmp(&a.votes).then(a.cost.cmp(&b.cost))),
        _ => options.sort_by_key(|o| std::cmp::Reverse(o.votes)),
    }
    for (o, place) in options.iter_mut().zip(1u32..) {
        o.place = place;
    }
    let budget = (kind == PollKind::Budget).then(|| {
        let cap = poll.budget_cap.unwrap_or(0);
        let mut funded_total = 0i64;
        let mut funded = Vec::new();
        for o in options.iter_mut() {
            let cost = o.cost.unwrap_or(0);
            if o.votes > 0 && funded_total.saturating_add(cost) <= cap {
                funded_total += cost;
                funded.push(o.option);
                o.funded = Some(true);
            }
        }
        BudgetSummary {
            cap,
            funded_total,
            funded,
            average_ballot_total: if ballots > 0 {
                tally.total_cost as f64 / ballots as f64
            } else {
                0.0
            },
        }
    });
    PollResults {
        poll: poll.poll.id,
        title: poll.poll.title.clone(),
        kind,
        status: poll.poll.status,
        final_results: is_over(poll, now),
        ballots,
        options,
        budget,
        answers,
    }
}

/// Is voting over: closed, or at or past the end time?
pub fn is_over(poll: &PollDetails, now: Timestamp) -> bool {
    poll.poll.status == PollStatus::Closed
        || (poll.poll.status == PollStatus::Published && now >= poll.poll.ends_at)
}

fn time_text(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.millis())
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| t.millis().to_string())
}

/// The results as a table (header first): what both exports write.
pub fn table(results: &PollResults) -> Vec<Vec<Cell>> {
    let text = |s: &str| Cell::Text(s.to_owned());
    let mut rows = Vec::new();
    if results.kind == PollKind::FreeText {
        rows.push(vec![text("№"), text("Ответ"), text("Время (UTC)")]);
        for (a, i) in results.answers.iter().zip(1i64..) {
            rows.push(vec![Cell::Int(i), text(&a.text), text(&time_text(a.at))]);
        }
        return rows;
    }
    let mut header = vec![
        text("Место"),
        text("Вариант"),
        text("Голосов"),
        text("Доля, %"),
    ];
    match results.kind {
        PollKind::Ranking => header.extend([text("Баллы (Борда)"), text("Средний ранг")]),
        PollKind::Budget => header.extend([text("Стоимость, руб."), text("Проходит в бюджет")]),
        _ => {}
    }
    rows.push(header);
    for o in &results.options {
        let mut row = vec![
            Cell::Int(i64::from(o.place)),
            text(&o.label),
            Cell::Int(o.votes),
            Cell::Number((o.percent * 10.0).round() / 10.0),
        ];
        match results.kind {
            PollKind::Ranking => row.extend([
                o.borda.map_or(Cell::Empty, Cell::Int),
                o.average_rank
                    .map_or(Cell::Empty, |r| Cell::Number((r * 100.0).round() / 100.0)),
            ]),
            PollKind::Budget => row.extend([
                o.cost.map_or(Cell::Empty, Cell::Int),
                text(if o.funded == Some(true) {
                    "да"
                } else {
                    "нет"
                }),
            ]),
            _ => {}
        }
        rows.push(row);
    }
    rows
}

/// The results as CSV (UTF-8, comma-separated, header row; for spreadsheets use the XLSX).
pub fn to_csv(results: &PollResults) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in table(results) {
        let fields: Vec<String> = row
            .iter()
            .map(|c| match c {
                Cell::Text(t) => t.clone(),
                Cell::Int(i) => i.to_string(),
                Cell::Number(x) => x.to_string(),
                Cell::Empty => String::new(),
            })
            .collect();
        w.write_record(&fields)
            .map_err(|e| PollsError::Export(e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| PollsError::Export(e.to_string()))
}

/// The results as an XLSX workbook (one sheet «Итоги»).
pub fn to_xlsx(results: &PollResults) -> Result<Vec<u8>> {
    xlsx::workbook("Итоги", &table(results))
}

#[cfg(test)]
mod tests {
    use otklik_domain::BallotId;
    use otklik_store::OptionTally;

    use super::*;
    use crate::ballot::tests::poll;

    fn tally(ballots: i64, options: &[(i64, i64, i64)], total_cost: i64) -> PollTally {
        PollTally {
            ballots,
            options: options
                .iter()
                .map(|(o, votes, rank_sum)| OptionTally {
                    option: PollOptionId(*o),
                    votes: *votes,
                    rank_sum: *rank_sum,
                })
                .collect(),
            total_cost,
        }
    }

    #[test]
    fn single_choice_counts_and_shares() {
        let p = poll(PollKind::SingleChoice, 3);
        let r = compute(
            &p,
            &tally(4, &[(1, 1, 0), (2, 3, 0)], 0),
            vec![],
            Timestamp(5),
        );
        assert_eq!(r.ballots, 4);
        assert!(!r.final_results);
        let o: Vec<(u32, i64, i64)> = r
            .options
            .iter()
            .map(|o| (o.place, o.option.get(), o.votes))
            .collect();
        assert_eq!(o, vec![(1, 2, 3), (2, 1, 1), (3, 3, 0)]);
        assert_eq!(r.options[0].percent, 75.0);
        assert!(compute(&p, &tally(0, &[], 0), vec![], Timestamp(10_000)).final_results);
    }

    #[test]
    fn ranking_uses_borda() {
        // 3 options; ballots: [1,2,3], [1,3,2], [2,1,3].
        // Points (n − r): 1 → 2+2+1 = 5; 2 → 1+0+2 = 3; 3 → 0+1+0 = 1.
        // Rank sums: 1 → 1+1+2 = 4; 2 → 2+3+1 = 6; 3 → 3+2+3 = 8.
        let p = poll(PollKind::Ranking, 3);
        let r = compute(
            &p,
            &tally(3, &[(1, 3, 4), (2, 3, 6), (3, 3, 8)], 0),
            vec![],
            Timestamp(5),
        );
        let o: Vec<(i64, Option<i64>)> = r
            .options
            .iter()
            .map(|o| (o.option.get(), o.borda))
            .collect();
        assert_eq!(o, vec![(1, Some(5)), (2, Some(3)), (3, Some(1))]);
        assert_eq!(r.options[0].average_rank, Some(4.0 / 3.0));
        let csv = String::from_utf8(to_csv(&r).expect("csv")).expect("utf-8");
        assert!(
            csv.starts_with("Место,Вариант,Голосов,\"Доля, %\",Баллы (Борда),Средний ранг\n"),
            "{csv}"
        );
        assert!(csv.contains("1,Вариант 1,3,100,5,1.33\n"), "{csv}");
    }

    #[test]
    fn budget_funds_by_votes_within_the_cap() {
        // Costs 100, 200, 300, 400; cap 500. Votes: 4 → 9, 3 → 7, 1 → 5, 2 → 5.
        // 4 (400) is funded; 3 (300) no longer fits; 1 (100, cheaper than 2) fits: 500.
        let p = poll(PollKind::Budget, 4);
        let r = compute(
            &p,
            &tally(10, &[(1, 5, 0), (2, 5, 0), (3, 7, 0), (4, 9, 0)], 4_200),
            vec![],
            Timestamp(5),
        );
        let b = r.budget.clone().expect("budget");
        assert_eq!(b.funded, vec![PollOptionId(4), PollOptionId(1)]);
        assert_eq!(b.funded_total, 500);
        assert_eq!(b.average_ballot_total, 420.0);
        let funded: Vec<(i64, Option<bool>)> = r
            .options
            .iter()
            .map(|o| (o.option.get(), o.funded))
            .collect();
        assert_eq!(
            funded,
            vec![
                (4, Some(true)),
                (3, Some(false)),
                (1, Some(true)),
                (2, Some(false))
            ]
        );
        let rows = table(&r);
        assert_eq!(rows[0].len(), 6);
        assert_eq!(rows[1][5], Cell::Text("да".into()));
    }

    #[test]
    fn free_text_exports_list_the_answers() {
        let p = poll(PollKind::FreeText, 0);
        let answers = vec![FreeTextAnswer {
            ballot: BallotId(1),
            text: "Нужен, \"светофор\"".into(),
            at: Timestamp(1_764_572_400_000),
        }];
        let r = compute(&p, &tally(1, &[], 0), answers, Timestamp(5));
        let csv = String::from_utf8(to_csv(&r).expect("csv")).expect("utf-8");
        assert_eq!(
            csv,
            "№,Ответ,Время (UTC)\n1,\"Нужен, \"\"светофор\"\"\",2025-12-01T07:00:00Z\n"
        );
        let x = to_xlsx(&r).expect("xlsx");
        let strings = crate::xlsx::tests::entry(&x, "xl/sharedStrings.xml");
        assert!(strings.contains("Нужен, "), "{strings}");
        assert!(strings.contains("светофор"), "{strings}");
        assert!(crate::xlsx::tests::entry(&x, "xl/workbook.xml").contains("Итоги"));
    }
}
