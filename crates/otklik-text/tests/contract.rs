//! The contract of otklik-text: exact token output, cleaning, language, hostility, and a real
//! tantivy index. Indexing, classifier rules and queries depend on these values; a change here
//! changes what every stored index and every rule matches, so it needs a reindex and a look at
//! the rules.

use otklik_text::{
    Analyzers, DetectedBy, Dictionaries, Lang, RU_ANALYZER, analyze, clean_text, detect,
    is_russian, stem_word,
};

fn a() -> &'static Analyzers {
    Analyzers::embedded()
}

// ---------------------------------------------------------------- analyzer token output

#[test]
fn russian_sentence_is_stemmed_and_stop_words_dropped() {
    assert_eq!(
        a().analyze("Ямы на дорогах Шелехова!"),
        ["ям", "дорог", "шелехов"]
    );
    assert_eq!(
        analyze("Ямы на дорогах Шелехова!"),
        ["ям", "дорог", "шелехов"]
    );
    assert_eq!(
        a().analyze("Когда починят дорогу?"),
        ["когд", "почин", "дорог"]
    );
    assert_eq!(
        a().analyze("ДОРОГИ, дорогой, по дорогам"),
        ["дорог", "дорог", "дорог"]
    );
}

#[test]
fn yo_is_folded_everywhere() {
    assert_eq!(a().analyze("Посёлок"), a().analyze("Поселок"));
    assert_eq!(a().analyze("Посёлок"), ["поселок"]);
    assert_eq!(a().analyze("ЁЛКА ёжик"), a().analyze("елка ежик"));
    assert_eq!(clean_text("Ёлка в посёлке").text, "Елка в поселке");
    assert_eq!(stem_word("Посёлком"), stem_word("поселком"));
    assert_eq!(a().analyze_exact("Посёлок"), ["поселок"]);
}

#[test]
fn negations_survive_stop_word_removal() {
    assert_eq!(
        a().analyze("Не работает свет, нет воды без конца и ни ответа"),
        [
            "не",
            "работа",
            "свет",
            "нет",
            "вод",
            "без",
            "конц",
            "ни",
            "ответ"
        ]
    );
    // Question words and requests are kept too.
    assert_eq!(a().analyze("где и когда надо"), ["где", "когд", "над"]);
}

#[test]
fn abbreviation_expands_at_the_same_position() {
    let tokens = a().analyze_tokens("Звонили в ЖКХ");
    let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["звон", "жкх", "жилищн", "коммунальн", "хозяйств"]);
    let jkh: Vec<_> = tokens.iter().skip(1).collect();
    assert!(
        jkh.iter()
            .all(|t| t.position == 2 && t.offset_from == 18 && t.offset_to == 24),
        "{jkh:?}"
    );
    assert_eq!(tokens.first().map(|t| t.position), Some(0));
}

#[test]
fn abbreviation_variants_canonicalized_and_not_stemmed() {
    assert_eq!(a().analyze("УКи"), ["ук", "управля", "компан"]);
    assert_eq!(
        a().analyze("в ДОУ и МБОУ"),
        [
            "доу",
            "дошкольн",
            "образовательн",
            "учрежден",
            "детск",
            "сад",
            "мбоу",
            "муниципальн",
            "бюджетн",
            "общеобразовательн",
            "учрежден",
            "школ"
        ]
    );
    // Stop words are removed from expansions («по» in КДН).
    assert_eq!(
        a().analyze("КДН"),
        ["кдн", "комисс", "дел", "несовершеннолетн"]
    );
    assert_eq!(a().stem_word("ДОУ"), "доу");
    assert_eq!(a().stem_word("УКа"), "ук");
    assert_eq!(a().stem_word("дорогой"), "дорог");
    // Without dictionaries: plain Snowball.
    assert_eq!(stem_word("ДОУ"), "до");
}

#[test]
fn query_and_exact_analyzers() {
    assert_eq!(a().analyze_query("ЖКХ и УКи"), ["жкх", "ук"]);
    assert_eq!(
        a().analyze_exact("Ямы на дорогах, ЖКХ!"),
        ["ямы", "на", "дорогах", "жкх"]
    );
    // Positions of the exact analyzer match the main one (stop words leave gaps).
    let main: Vec<usize> = a()
        .analyze_tokens("Ямы на дорогах")
        .iter()
        .map(|t| t.position)
        .collect();
    assert_eq!(main, [0, 2]);
}

#[test]
fn hyphens_split_latin_uses_english_stemmer_digits_kept() {
    assert_eq!(
        a().analyze("Усть-Илимск, из-за Wi-Fi"),
        ["уст", "илимск", "wi", "fi"]
    );
    assert_eq!(
        a().analyze("running roads, дом 15, М-53, covid19"),
        ["run", "road", "дом", "15", "м", "53", "covid19"]
    );
    assert_eq!(a().analyze("доро\u{301}га"), ["дорог"]);
    assert!(a().analyze("\u{301} \u{AD}\u{301} -").is_empty());
    assert_eq!(a().analyze("по\u{AD}чинить"), ["почин"]);
    assert_eq!(a().analyze("Привіт"), ["привіт"]);
}

#[test]
fn custom_dictionaries() {
    let d = Dictionaries::parse("ямы\n", "stop.txt", "ЯМ => яма\n", "syn.txt")
        .expect("valid dictionaries");
    let custom = Analyzers::new(d);
    assert_eq!(custom.analyze("Ямы на дорогах"), ["на", "дорог"]);
    let empty = Analyzers::new(Dictionaries::empty());
    assert_eq!(empty.analyze("ЖКХ на дорогах"), ["жкх", "на", "дорог"]);
}

// ---------------------------------------------------------------- cleaning

#[test]
fn hashtags_are_split_into_words() {
    let c = clean_text("#ЯмыНаДорогах #дороги_северск #ЖКХСеверск2024 #новости@seversk_adm");
    assert_eq!(
        c.text,
        "ямы на дорогах дороги северск жкх северск 2024 новости"
    );
    assert_eq!(
        c.hashtags,
        [
            "ЯмыНаДорогах",
            "дороги_северск",
            "ЖКХСеверск2024",
            "новости"
        ]
    );
    assert_eq!(
        a().analyze(&clean_text("#ЯмыНаДорогах").text),
        ["ям", "дорог"]
    );
    // Not hashtags.
    assert_eq!(clean_text("C# #1 #_ &#xZZZ;").text, "C# #1 #_ &#xZZZ;");
}

#[test]
fn html_and_entities_are_stripped() {
    let c = clean_text(
        "<div><p>Нет&nbsp;воды&hellip;</p><p>Третий&#160;день, &quot;УК&quot; молчит<br/>\
         &laquo;Ответ&raquo; &#x2014; &lt;нет&gt;</p><script>alert('x')</script>\
         <style>p{color:red}</style><!-- comment --></div>",
    );
    assert_eq!(
        c.text,
        "Нет воды…\nТретий день, \"УК\" молчит\n«Ответ» — <нет>"
    );
    assert_eq!(clean_text("при<b>вет</b> <i>мир</i>").text, "привет мир");
    assert_eq!(
        clean_text("Дорога &amp; тротуар &copy; &unknown; &#1105;").text,
        "Дорога & тротуар © &unknown; е"
    );
}

#[test]
fn urls_are_removed_and_kept() {
    let c = clean_text(
        "Смотрите https://vk.com/wall-1_2, и (см. https://ru.wikipedia.org/wiki/Яма_(значения)). \
         Ещё www.gosuslugi.ru/help и t.me/seversk/15 или HTTP://EXAMPLE.COM/a?b=c#d.",
    );
    assert_eq!(
        c.urls,
        [
            "https://vk.com/wall-1_2",
            "https://ru.wikipedia.org/wiki/Яма_(значения)",
            "www.gosuslugi.ru/help",
            "t.me/seversk/15",
            "HTTP://EXAMPLE.COM/a?b=c#d"
        ]
    );
    assert_eq!(c.text, "Смотрите , и (см. ). Еще и или .");
    // Plain words with dots are not URLs.
    assert_eq!(clean_text("т.е. ул.Ленина д.5").urls, Vec::<String>::new());
}

#[test]
fn vk_links_and_mentions_are_reduced_to_names() {
    let c = clean_text(
        "[id123|Иван Петров], [club1|Администрация города] и [id5:bp-1_2|Ольга]: \
         [https://vk.com/page|ссылка] @ivan_petrov. [не ссылка|да] почта a@b.ru",
    );
    assert_eq!(
        c.text,
        "Иван Петров, Администрация города и Ольга: ссылка ivan_petrov. [не ссылка|да] почта a@b.ru"
    );
    assert_eq!(c.mentions, ["id123", "club1", "id5", "ivan_petrov"]);
    assert_eq!(c.urls, ["https://vk.com/page"]);
    assert_eq!(clean_text("[id1|Иван][id2|Петр]").text, "Иван Петр");
}

#[test]
fn emoji_are_removed_and_counted() {
    let c = clean_text("Дорога👍🏽 плохая😡😡 👨\u{200D}👩\u{200D}👧 🇷🇺 ❤\u{FE0F} ✅");
    assert_eq!(c.text, "Дорога плохая");
    assert_eq!(c.emoji_count, 7);
    assert_eq!(clean_text("😀😀😀").text, "");
    assert_eq!(clean_text("😀😀😀").emoji_count, 3);
}

#[test]
fn whitespace_and_invisible_characters() {
    assert_eq!(
        clean_text("  a\u{0}b\tc \r\n\n\n d\u{00A0}\u{00A0}e\u{200B}f  ").text,
        "a b c\nd ef"
    );
    assert_eq!(
        clean_text("ｆｕｌｌ ﬁx 𝐃𝐨𝐫𝐨𝐠𝐚 100 м² №5 ™").text,
        "full fix Doroga 100 м2 №5 ™"
    );
    // NFC: и + combining breve becomes й.
    assert_eq!(clean_text("и\u{0306}од").text, "йод");
}

// ---------------------------------------------------------------- language

#[test]
fn language_by_letters_first() {
    let cases = [
        ("Когда починят дорогу?", Lang::Ru),
        ("Ямы на дорогах", Lang::Ru),
        ("Спасибо", Lang::Ru),
        ("Свет", Lang::Ru),
        ("Дякую", Lang::Uk),
        ("Дякую за допомогу", Lang::Uk),
        ("Добрий день, у нас немає світла", Lang::Uk),
        ("Привіт", Lang::Uk),
        ("Дзякуй", Lang::Be),
        ("Прывітанне, у нас няма святла", Lang::Be),
        ("Добры дзень, дзякуй вам", Lang::Be),
        ("When will you fix the road?", Lang::En),
        ("Hello", Lang::En),
        ("Wi-Fi", Lang::En),
        ("Здраво, како сте? Ђаци", Lang::Other),
        (
            "Wann wird die Straße repariert? Die Schlaglöcher sind gefährlich.",
            Lang::Other,
        ),
        ("道路坏了", Lang::Other),
        ("", Lang::Unknown),
        ("😀 123 !!!", Lang::Unknown),
    ];
    for (text, lang) in cases {
        assert_eq!(detect(text).lang, lang, "{text:?}: {:?}", detect(text));
    }
    assert!(is_russian("Опять нет воды в доме 5"));
    assert!(!is_russian("Дякую"));
    let d = detect("Опять нет воды, сделайте хоть что-нибудь");
    assert_eq!((d.lang, d.by), (Lang::Ru, DetectedBy::Letters));
    assert!(d.confidence > 0.9);
    assert_eq!(detect("").confidence, 0.0);
    // One quoted Ukrainian word does not make a long Russian post Ukrainian.
    assert_eq!(
        detect(
            "Жители пишут, что на улице Ленина уже третью неделю нет воды, а в ответ слышат \
             только «дякуємо за звернення» и больше ничего не происходит, сделайте что-нибудь"
        )
        .lang,
        Lang::Ru
    );
}

// ---------------------------------------------------------------- hostile input

fn exercise(input: &str) {
    let c = clean_text(input);
    let _ = detect(input);
    let _ = detect(&c.text);
    let _ = a().analyze(input);
    let _ = a().analyze(&c.text);
    let _ = a().analyze_exact(input);
    let _ = a().analyze_query(input);
    let _ = stem_word(input);
    let _ = a().stem_word(input);
}

#[test]
fn hostile_input_never_panics() {
    for input in [
        "",
        " ",
        "😀",
        "😀😀😀👨\u{200D}",
        "\u{200D}\u{FE0F}\u{20E3}",
        "<a href=\"x",
        "<",
        "</",
        "<!--",
        "<script>",
        "</script>",
        "&#xZZZ;",
        "&#",
        "&#x;",
        "&#99999999999;",
        "&#xD800;",
        "&;",
        "\u{0}\u{0}a\u{0}",
        "[",
        "[id1|",
        "[id1|]",
        "[|]",
        "#",
        "@",
        "@.",
        "www.",
        "http://",
        "https://)",
        "a.ru/",
        "\u{0301}",
        "\u{FFFF}\u{10FFFF}",
        "#\u{0301}a",
    ] {
        exercise(input);
    }
}

#[test]
fn one_megabyte_of_one_character() {
    // A full megabyte for the characters with special handling; a quarter for the rest (any
    // quadratic behaviour would already take minutes at that size).
    for (ch, bytes) in [
        ('а', 1_000_000),
        ('<', 1_000_000),
        ('&', 1_000_000),
        ('#', 1_000_000),
        ('[', 1_000_000),
        ('😀', 1_000_000),
        ('a', 250_000),
        ('@', 250_000),
        ('|', 250_000),
        ('.', 250_000),
        ('h', 250_000),
        (' ', 250_000),
        ('\u{0}', 250_000),
        ('\u{0301}', 250_000),
        ('-', 250_000),
        ('\u{200D}', 250_000),
        ('🇷', 250_000),
    ] {
        let input: String = std::iter::repeat_n(ch, bytes / ch.len_utf8()).collect();
        exercise(&input);
    }
    // Repeated patterns that could trigger re-scanning.
    for unit in [
        "a.", "<a ", "&#1", "[id1|", "#a", "@a", "http://", "a.ru", "ы-",
    ] {
        let input = unit.repeat(250_000 / unit.len());
        exercise(&input);
    }
    let huge_word = "а".repeat(500_000);
    assert!(a().analyze(&huge_word).is_empty());
}

#[test]
fn pseudo_random_input_never_panics() {
    const ALPHABET: &[char] = &[
        'а', 'Ё', 'ы', 'і', 'ў', 'a', 'Z', '1', ' ', '\n', '\u{0}', '<', '>', '/', '&', '#', ';',
        'x', '@', '[', ']', '|', ':', '.', '-', '_', '"', 'h', 't', 'p', 's', 'w', '😀',
        '\u{200D}', '\u{FE0F}', '🇷', '\u{0301}', '\u{00AD}', 'ﬁ', '²', '№',
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = usize::try_from(state % 64).unwrap_or(0);
        let mut s = String::new();
        let mut x = state;
        for _ in 0..len {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let i = usize::try_from((x >> 33) % ALPHABET.len() as u64).unwrap_or(0);
            s.push(ALPHABET.get(i).copied().unwrap_or(' '));
        }
        exercise(&s);
    }
}

// ---------------------------------------------------------------- tantivy index

mod index {
    use otklik_text::{Analyzers, RU_ANALYZER, RU_EXACT_ANALYZER};
    use tantivy::collector::TopDocs;
    use tantivy::query::QueryParser;
    use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    fn text_options(tokenizer: &str) -> TextOptions {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    }

    fn build(docs: &[&str]) -> (Index, Field, Field) {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", text_options(RU_ANALYZER));
        let exact = schema.add_text_field("exact", text_options(RU_EXACT_ANALYZER));
        let index = Index::create_in_ram(schema.build());
        otklik_text::register(&index);
        let mut writer: IndexWriter = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        for body in docs {
            let mut doc = TantivyDocument::default();
            let cleaned = otklik_text::clean_text(body).text;
            doc.add_text(text, &cleaned);
            doc.add_text(exact, &cleaned);
            writer.add_document(doc).expect("add");
        }
        writer.commit().expect("commit");
        (index, text, exact)
    }

    fn hits(index: &Index, parser: &QueryParser, query: &str) -> Vec<u32> {
        let reader = index.reader().expect("reader");
        let searcher = reader.searcher();
        let query = parser.parse_query(query).expect("query");
        let mut ids: Vec<u32> = searcher
            .search(&query, &TopDocs::with_limit(10).order_by_score())
            .expect("search")
            .into_iter()
            .map(|(_, addr)| addr.doc_id)
            .collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn finds_inflected_forms_with_the_registered_analyzer() {
        let (index, text, _) = build(&[
            "Разбитые дороги в посёлке Шелехов, ямы по колено!",
            "Нет горячей воды третий день, ЖКХ не отвечает",
            "Обращение по жилищно-коммунальному хозяйству: нет отопления",
        ]);
        let parser = QueryParser::for_index(&index, vec![text]);
        assert_eq!(hits(&index, &parser, "дорогой"), [0]);
        // Snowball does not undo the fleeting vowel: «посёлок» → `поселок`, «посёлке» → `поселк`.
        assert_eq!(hits(&index, &parser, "Поселка"), [0]);
        assert_eq!(hits(&index, &parser, "Поселок"), Vec::<u32>::new());
        assert_eq!(hits(&index, &parser, "воды"), [1]);
        // Phrase across a removed stop word.
        assert_eq!(hits(&index, &parser, "\"ямы по колено\""), [0]);
        // The expansion of «ЖКХ» is indexed: the full wording finds the abbreviation too.
        assert_eq!(hits(&index, &parser, "жилищное хозяйство"), [1, 2]);
        // «не» is indexed.
        assert_eq!(hits(&index, &parser, "\"не отвечает\""), [1]);
    }

    #[test]
    fn query_tokenizer_manager_and_exact_field() {
        let (index, text, exact) = build(&[
            "ЖКХ молчит",
            "Жилищно-коммунальное хозяйство молчит",
            "Дороги в посёлке",
        ]);
        let analyzers = Analyzers::embedded();
        let parser = QueryParser::new(
            index.schema(),
            vec![text],
            analyzers.query_tokenizer_manager(),
        );
        assert_eq!(hits(&index, &parser, "ЖКХ"), [0]);
        assert_eq!(hits(&index, &parser, "УКи ЖКХ"), [0]);
        assert_eq!(
            hits(&index, &parser, "\"жилищно-коммунальное хозяйство\""),
            [1]
        );
        assert_eq!(hits(&index, &parser, "хозяйство"), [0, 1]);
        let exact_parser = QueryParser::for_index(&index, vec![exact]);
        assert_eq!(hits(&index, &exact_parser, "дороги"), [2]);
        assert_eq!(hits(&index, &exact_parser, "дорогой"), Vec::<u32>::new());
        assert_eq!(hits(&index, &exact_parser, "поселке"), [2]);
    }
}

#[test]
fn registering_twice_is_harmless() {
    use tantivy::tokenizer::TokenStream;
    let manager = tantivy::tokenizer::TokenizerManager::default();
    otklik_text::register_on(&manager);
    otklik_text::register_on(&manager);
    let mut analyzer = manager.get(RU_ANALYZER).expect("registered");
    let mut stream = analyzer.token_stream("Ямы");
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    assert_eq!(out, ["ям"]);
}
