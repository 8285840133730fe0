fn main() {
    let a = otklik_text::Analyzers::default();
    for s in std::env::args().skip(1) {
        let c = otklik_text::clean_text(&s);
        println!(
            "{s:?}\n  clean={:?}\n  analyze={:?}\n  query={:?}\n  exact={:?}\n  lang={:?}",
            c,
            a.analyze(&c.text),
            a.analyze_query(&c.text),
            a.analyze_exact(&c.text),
            otklik_text::detect(&s)
        );
    }
}
