//! Results from stored ballots: hidden until close, Borda, budgets, free text, exports.

use otklik_domain::{PollKind, ResultsVisibility, Timestamp};
use otklik_polls::{Ballot, BallotError, PollsError};
use otklik_store::Store;

use crate::fixtures::{NOW, meta, world};

both_backends!(hidden_until_close, ranking_budget_and_free_text_results,);

async fn hidden_until_close(store: Store) {
    let w = world(store).await;
    let mut draft = w.draft(PollKind::SingleChoice, 2);
    draft.results = ResultsVisibility::AfterClose;
    let poll = w.publish(&draft).await;
    let id = poll.poll.id;
    let m = meta(&w, None);
    w.polls
        .vote(
            id,
            "esia:1",
            &Ballot::Single {
                option: poll.options[1].id,
            },
            "k",
            &m,
            NOW,
        )
        .await
        .unwrap();
    for e in [
        w.polls.results(id, NOW).await.map(|_| ()),
        w.polls.export_csv(id, NOW).await.map(|_| ()),
        w.polls.export_xlsx(id, NOW).await.map(|_| ()),
    ] {
        assert!(matches!(e, Err(PollsError::ResultsHidden(_))));
    }
    // Turnout is not hidden.
    assert_eq!(w.polls.turnout(id).await.unwrap(), 1);
    // After the end time (even before anyone closes it), and after closing: visible.
    let r = w.polls.results(id, poll.poll.ends_at).await.unwrap();
    assert!(r.final_results);
    assert_eq!(r.options[0].option, poll.options[1].id);
    w.polls.close(id, w.user("manager1"), NOW).await.unwrap();
    let r = w.polls.results(id, NOW).await.unwrap();
    assert!(r.final_results);
    assert_eq!(r.ballots, 1);
}

async fn ranking_budget_and_free_text_results(store: Store) {
    let w = world(store).await;
    let m = meta(&w, None);

    // Ranking, Borda: ballots [1,2,3], [1,3,2], [2,1,3] → 5, 3, 1 points.
    let poll = w.publish(&w.draft(PollKind::Ranking, 3)).await;
    let o = |i: usize| poll.options[i].id;
    for (who, order) in [("a", [0, 1, 2]), ("b", [0, 2, 1]), ("c", [1, 0, 2])] {
        let options = order.iter().map(|i| o(*i)).collect();
        w.polls
            .vote(
                poll.poll.id,
                who,
                &Ballot::Ranking { options },
                "k",
                &m,
                NOW,
            )
            .await
            .unwrap();
    }
    let r = w.polls.results(poll.poll.id, NOW).await.unwrap();
    assert!(!r.final_results);
    let borda: Vec<_> = r.options.iter().map(|x| (x.option, x.borda)).collect();
    assert_eq!(
        borda,
        vec![(o(0), Some(5)), (o(1), Some(3)), (o(2), Some(1))]
    );
    let csv = String::from_utf8(w.polls.export_csv(poll.poll.id, NOW).await.unwrap()).unwrap();
    assert!(csv.contains("\n1,Вариант 1,3,100,5,1.33\n"), "{csv}");

    // Budget (costs 100…400, cap 900): [4,3,2], [4,3], [1] → 4: 2 votes, 3: 2, 2: 1, 1: 1.
    // Funded by votes: 3 (300, cheaper of the tied) + 4 (400) + 1 (100, tied with 2 on
    // votes, cheaper) = 800; 2 (200) no longer fits.
    let mut draft = w.draft(PollKind::Budget, 4);
    draft.budget_cap = Some(900);
    let poll = w.publish(&draft).await;
    let o = |i: usize| poll.options[i - 1].id;
    for (who, projects) in [("a", vec![4, 3, 2]), ("b", vec![4, 3]), ("c", vec![1])] {
        let projects = projects.into_iter().map(o).collect();
        w.polls
            .vote(
                poll.poll.id,
                who,
                &Ballot::Budget { projects },
                "k",
                &m,
                NOW,
            )
            .await
            .unwrap();
    }
    // Over the cap: refused.
    let e = w
        .polls
        .vote(
            poll.poll.id,
            "d",
            &Ballot::Budget {
                projects: vec![o(4), o(3), o(2), o(1)],
            },
            "k",
            &m,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PollsError::InvalidBallot(BallotError::OverBudget {
                cap: 900,
                total: 1000
            })
        ),
        "{e}"
    );
    let r = w.polls.results(poll.poll.id, NOW).await.unwrap();
    let b = r.budget.clone().unwrap();
    assert_eq!(r.ballots, 3);
    assert_eq!(b.funded, vec![o(3), o(4), o(1)]);
    assert_eq!(b.funded_total, 800);
    assert_eq!(b.average_ballot_total, (900.0 + 700.0 + 100.0) / 3.0);
    let xlsx_bytes = w.polls.export_xlsx(poll.poll.id, NOW).await.unwrap();
    // A real XLSX (a ZIP with the worksheet), opened with the zip crate.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx_bytes)).unwrap();
    let mut read = |name: &str| {
        use std::io::Read as _;
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let sheet = read("xl/worksheets/sheet1.xml");
    assert!(sheet.contains("<sheetData>"), "{sheet}");
    let strings = read("xl/sharedStrings.xml");
    assert!(strings.contains("Проходит в бюджет"), "{strings}");
    assert!(strings.contains("Вариант 4"), "{strings}");

    // Free text.
    let mut draft = w.draft(PollKind::FreeText, 0);
    draft.max_text_chars = Some(50);
    let poll = w.publish(&draft).await;
    for (who, text) in [("a", "Нужен светофор"), ("b", "  Больше скамеек  ")]
    {
        w.polls
            .vote(
                poll.poll.id,
                who,
                &Ballot::FreeText { text: text.into() },
                "k",
                &m,
                Timestamp(NOW.millis() + 1),
            )
            .await
            .unwrap();
    }
    let r = w.polls.results(poll.poll.id, NOW).await.unwrap();
    let texts: Vec<&str> = r.answers.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(texts, ["Нужен светофор", "Больше скамеек"]);
    let csv = String::from_utf8(w.polls.export_csv(poll.poll.id, NOW).await.unwrap()).unwrap();
    assert!(
        csv.starts_with("№,Ответ,Время (UTC)\n1,Нужен светофор,2025-12-01T07:00:00.001Z\n"),
        "{csv}"
    );
}
