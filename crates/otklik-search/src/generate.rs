//! A generator of realistic Russian posts about the demo region «Северная область», for
//! benchmarks and tests.
//!
//! Posts are built from our own templates (complaints, questions, news, thanks) × problems
//! of the unified category tree (each with complaint sentences, questions, news and thanks
//! phrases) × the streets and places of `dictionaries/severnaya-oblast/` (embedded at build
//! time) with the towns they are in. The same seed gives the same posts, on every machine
//! (`fastrand`'s generator is specified). Generation runs at several hundred thousand posts
//! per second on one core (2.7 million/s measured, see BENCHMARKS.md).
//!
//! ```
//! use otklik_search::generate::Generator;
//!
//! let a: Vec<_> = Generator::new(7).take(3).collect();
//! let b: Vec<_> = Generator::new(7).take(3).collect();
//! assert_eq!(a, b);
//! assert!(a.iter().all(|d| d.territory.is_some() && d.category.is_some()));
//! ```

use std::fmt::Write as _;
use std::sync::LazyLock;

use crate::doc::{DocKind, SearchDoc};

const STREETS_CSV: &str = include_str!("../../../dictionaries/severnaya-oblast/streets.csv");
const PLACES_CSV: &str = include_str!("../../../dictionaries/severnaya-oblast/places.csv");

/// Where the street or place is, in the prepositional («в Северске»), by territory code of
/// the dictionaries. Our own vocabulary: the dictionaries hold the nominative only.
const TOWNS: &[(&str, &str, &str)] = &[
    // (code prefix, «в …», the municipal organisation in demo/organisations.csv)
    ("seversk", "в Северске", "adm-seversk"),
    ("ust-ledyansk", "в Усть-Ледянске", "adm-ust-ledyansk"),
    (
        "kamensk-severny",
        "в Каменске-Северном",
        "adm-kamensk-severny",
    ),
    ("lesogorsk", "в Лесогорске", "adm-lesnoy"),
    ("berezovsk", "в Берёзовске", "adm-berezovsky"),
    ("volokov", "в Волокове", "adm-volokovsky"),
    ("zarechny", "в Заречном", "adm-zarechny"),
    ("ozerny", "в Озёрном", "adm-ozerny"),
    (
        "verkhnyaya-ledyanka",
        "в Верхней Ледянке",
        "adm-verkhneledyansky",
    ),
    ("tikhovodsk", "в Тиховодске", "adm-tikhovodsky"),
    ("tayozhny", "в Таёжном", "adm-tayozhny"),
    ("gorny", "в Горном", "adm-gorny"),
    ("pokrovskoe", "в Покровском", "adm-pokrovsky"),
    ("kedrovka", "в Кедровке", "adm-seversk"),
    ("olkhovka", "в Ольховке", "adm-seversk"),
    ("malinovka", "в Малиновке", "adm-zarechny"),
];

/// A problem of the category tree with its wording.
struct Problem {
    subcategory: &'static str,
    /// The regional body answering for it (demo/organisations.csv), or `None` for the town's.
    body: Option<&'static str>,
    /// How often it comes up, relative.
    weight: u32,
    complaints: &'static [&'static str],
    questions: &'static [&'static str],
    news: &'static [&'static str],
    thanks: &'static [&'static str],
}

const PROBLEMS: &[Problem] = &[
    Problem {
        subcategory: "roads.potholes",
        body: Some("mintrans"),
        weight: 14,
        complaints: &[
            "Огромные ямы на дороге, машины бьют колёса и подвеску.",
            "Дорога вся в ямах, после дождя их даже не видно.",
            "Яма посреди проезжей части уже полгода, вчера в неё опять влетела машина.",
            "Асфальт разбит, ямы глубиной сантиметров двадцать.",
        ],
        questions: &[
            "отремонтируют дорогу",
            "заделают ямы на дороге",
            "положат новый асфальт",
        ],
        news: &[
            "начался ямочный ремонт дороги",
            "завершён ремонт проезжей части",
        ],
        thanks: &["ремонт дороги", "то, что наконец заделали ямы"],
    },
    Problem {
        subcategory: "roads.snow_removal",
        body: Some("mintrans"),
        weight: 8,
        complaints: &[
            "Дорогу не чистят от снега уже неделю, машины буксуют.",
            "После снегопада никто не приехал, сугробы по колено, автобус не может проехать.",
            "Снег с дороги сгребли прямо на тротуар, пешеходам не пройти.",
        ],
        questions: &["почистят дорогу от снега", "приедет снегоуборочная техника"],
        news: &[
            "идёт уборка снега с улиц",
            "на уборку снега вышли двадцать единиц техники",
        ],
        thanks: &["быструю уборку снега", "расчищенную дорогу"],
    },
    Problem {
        subcategory: "roads.sidewalks",
        body: None,
        weight: 4,
        complaints: &[
            "Тротуара нет, люди с колясками идут по проезжей части.",
            "Тротуар разрушен, плитка вздыбилась, пожилые люди падают.",
        ],
        questions: &["сделают тротуар", "отремонтируют тротуар"],
        news: &["начато обустройство тротуара"],
        thanks: &["новый тротуар"],
    },
    Problem {
        subcategory: "roads.traffic_lights",
        body: Some("mintrans"),
        weight: 3,
        complaints: &[
            "Светофор не работает третий день, на перекрёстке чуть не сбили ребёнка.",
            "Светофор мигает жёлтым, водители не пропускают пешеходов.",
        ],
        questions: &["починят светофор", "поставят светофор у школы"],
        news: &["на перекрёстке установлен новый светофор"],
        thanks: &["отремонтированный светофор"],
    },
    Problem {
        subcategory: "roads.road_lighting",
        body: None,
        weight: 5,
        complaints: &[
            "Не горят фонари, вечером на улице темно, страшно идти.",
            "Уличное освещение не работает уже месяц.",
            "Половина фонарей разбита, света нет.",
        ],
        questions: &["включат уличное освещение", "заменят фонари"],
        news: &["заменены светильники уличного освещения"],
        thanks: &["новые фонари", "то, что снова горит свет на улице"],
    },
    Problem {
        subcategory: "water.water_outage",
        body: Some("mingkh"),
        weight: 7,
        complaints: &[
            "Нет холодной воды с утра, никто ничего не объясняет.",
            "Воду отключили без предупреждения, в доме маленькие дети.",
            "Третий день без воды, подвоз воды не организован.",
        ],
        questions: &["дадут воду", "закончатся работы на водопроводе"],
        news: &["в связи с аварией на водопроводе временно отключена холодная вода"],
        thanks: &["быстрое устранение аварии на водопроводе"],
    },
    Problem {
        subcategory: "water.hot_water",
        body: Some("mingkh"),
        weight: 6,
        complaints: &[
            "Нет горячей воды уже две недели, плановые работы давно закончились.",
            "Горячая вода еле тёплая, платим за неё как за горячую.",
        ],
        questions: &["включат горячую воду", "дадут горячую воду"],
        news: &["горячее водоснабжение будет отключено на время гидравлических испытаний"],
        thanks: &["досрочное включение горячей воды"],
    },
    Problem {
        subcategory: "water.poor_quality",
        body: Some("mingkh"),
        weight: 3,
        complaints: &[
            "Из крана течёт ржавая вода с запахом, пить её невозможно.",
            "Вода мутная и жёлтая, фильтры забиваются за день.",
        ],
        questions: &["проверят качество воды"],
        news: &["проведены анализы качества питьевой воды"],
        thanks: &["промывку сетей, вода стала чистой"],
    },
    Problem {
        subcategory: "heating.district_heating",
        body: Some("mingkh"),
        weight: 6,
        complaints: &[
            "В квартире холодно, батареи чуть тёплые, дети болеют.",
            "Отопление так и не дали, на улице минус, дома пятнадцать градусов.",
            "Батареи холодные, управляющая компания не отвечает.",
        ],
        questions: &["дадут отопление", "начнётся отопительный сезон"],
        news: &["начался отопительный сезон, тепло подают в жилые дома"],
        thanks: &["тёплые батареи"],
    },
    Problem {
        subcategory: "electricity.power_outage",
        body: Some("severenergosbyt"),
        weight: 5,
        complaints: &[
            "Света нет с ночи, холодильник потёк, дозвониться до энергетиков невозможно.",
            "Постоянно отключают электричество, сгорела техника.",
        ],
        questions: &["дадут свет", "восстановят электроснабжение"],
        news: &["электроснабжение восстановлено после аварии на подстанции"],
        thanks: &["быстрое восстановление электроснабжения"],
    },
    Problem {
        subcategory: "waste.containers",
        body: Some("regoperator-tko"),
        weight: 7,
        complaints: &[
            "Мусор не вывозят неделю, контейнеры переполнены, вокруг бегают крысы.",
            "Контейнерная площадка завалена мусором, запах на весь двор.",
            "Мусорные баки сломаны, мусор разносит ветром.",
        ],
        questions: &["вывезут мусор", "поставят новые контейнеры"],
        news: &["региональный оператор изменил график вывоза мусора"],
        thanks: &["чистую контейнерную площадку", "регулярный вывоз мусора"],
    },
    Problem {
        subcategory: "waste.dumps_in_forest",
        body: Some("minprirody"),
        weight: 2,
        complaints: &["В лесу за домами стихийная свалка, строительный мусор везут машинами."],
        questions: &["уберут свалку в лесу"],
        news: &["ликвидирована несанкционированная свалка"],
        thanks: &["уборку свалки"],
    },
    Problem {
        subcategory: "yards.playgrounds",
        body: None,
        weight: 3,
        complaints: &[
            "Детская площадка во дворе разломана, качели висят на одной цепи.",
            "На площадке торчат ржавые трубы, дети могут пораниться.",
        ],
        questions: &[
            "отремонтируют детскую площадку",
            "установят новую площадку во дворе",
        ],
        news: &["во дворах установлены новые детские площадки"],
        thanks: &["новую детскую площадку"],
    },
    Problem {
        subcategory: "yards.roof_ice",
        body: None,
        weight: 2,
        complaints: &["С крыши свисают огромные сосульки прямо над входом в подъезд."],
        questions: &["собьют сосульки с крыши"],
        news: &["коммунальные службы очищают крыши от снега и наледи"],
        thanks: &["очистку крыши от сосулек"],
    },
    Problem {
        subcategory: "apartment_buildings.roof_leaks",
        body: Some("mingkh"),
        weight: 3,
        complaints: &[
            "Течёт крыша, в квартире на пятом этаже вода по стенам.",
            "После каждого дождя заливает подъезд, крыша дырявая.",
        ],
        questions: &["отремонтируют крышу"],
        news: &["начался капитальный ремонт кровли"],
        thanks: &["ремонт крыши"],
    },
    Problem {
        subcategory: "apartment_buildings.lift",
        body: Some("mingkh"),
        weight: 3,
        complaints: &[
            "Лифт не работает вторую неделю, пожилые люди не могут выйти из дома.",
            "Лифт застревает между этажами, люди сидят по часу.",
        ],
        questions: &["починят лифт", "заменят лифт"],
        news: &["в многоквартирных домах заменены лифты"],
        thanks: &["новый лифт"],
    },
    Problem {
        subcategory: "transport.schedule_violations",
        body: Some("mintrans"),
        weight: 5,
        complaints: &[
            "Автобус не ходит по расписанию, люди ждут на остановке по часу.",
            "Последний автобус отменили, с работы добираться не на чем.",
            "Маршрутка проезжает мимо остановки, не останавливается.",
        ],
        questions: &[
            "вернут автобусный маршрут",
            "будет ходить автобус по расписанию",
        ],
        news: &[
            "изменено расписание автобусов",
            "открыт новый автобусный маршрут",
        ],
        thanks: &["новый автобусный маршрут"],
    },
    Problem {
        subcategory: "health.appointments",
        body: Some("minzdrav"),
        weight: 5,
        complaints: &[
            "В поликлинику невозможно записаться к врачу, талонов нет на месяц вперёд.",
            "Нет терапевта, очередь в регистратуру с шести утра.",
        ],
        questions: &["появится запись к врачу", "примут терапевта в поликлинику"],
        news: &["в поликлинике открыта онлайн-запись к врачам"],
        thanks: &["внимательных врачей поликлиники"],
    },
    Problem {
        subcategory: "health.ambulance",
        body: Some("minzdrav"),
        weight: 2,
        complaints: &["Скорая помощь ехала полтора часа к пожилому человеку с давлением."],
        questions: &["поставят пост скорой помощи"],
        news: &["станция скорой помощи получила новые автомобили"],
        thanks: &["быстрый приезд скорой помощи"],
    },
    Problem {
        subcategory: "education.school_meals",
        body: Some("minobr"),
        weight: 2,
        complaints: &["В школьной столовой кормят холодной едой, дети приходят голодные."],
        questions: &["улучшат питание в школе"],
        news: &["в школах обновили меню горячего питания"],
        thanks: &["вкусное питание в школе"],
    },
    Problem {
        subcategory: "improvement.green_spaces",
        body: Some("minstroy"),
        weight: 2,
        complaints: &[
            "Вырубили деревья во дворе без объяснений.",
            "Аварийное дерево наклонилось над детской площадкой.",
        ],
        questions: &["спилят аварийное дерево", "высадят новые деревья"],
        news: &["в сквере высажены новые деревья"],
        thanks: &["озеленение двора"],
    },
    Problem {
        subcategory: "yards.manholes",
        body: None,
        weight: 2,
        complaints: &["Открытый канализационный люк посреди двора, ребёнок чуть не упал."],
        questions: &["закроют люк"],
        news: &["на улицах заменены крышки люков"],
        thanks: &["закрытый люк"],
    },
];

const GREETINGS: &[&str] = &[
    "",
    "",
    "Здравствуйте! ",
    "Добрый день. ",
    "Уважаемая администрация! ",
    "Помогите! ",
];
const DEMANDS: &[&str] = &[
    "Просим принять меры.",
    "Когда это закончится?",
    "Сколько можно ждать?",
    "Требуем разобраться!",
    "Обращались уже несколько раз, ответа нет.",
    "Жители возмущены.",
    "Прошу проверить и устранить.",
    "",
];
const WAITS: &[&str] = &[
    "неделю",
    "две недели",
    "месяц",
    "третий месяц",
    "полгода",
    "год",
];
const THANKS_TO: &[&str] = &[
    "администрации",
    "управляющей компании",
    "коммунальным службам",
    "дорожникам",
    "главе района",
    "всем, кто помог,",
];
const NEWS_SOURCES: &[&str] = &[
    "Администрация сообщает",
    "Пресс-служба информирует",
    "Новости района",
    "Важно",
    "Официально",
];
const WHEN: &[&str] = &[
    "сегодня",
    "на этой неделе",
    "с понедельника",
    "в ближайшие дни",
    "вчера",
];

/// A street or place of the dictionary with the town it is in.
#[derive(Debug)]
struct Spot {
    /// «на улице Ленина», «в микрорайоне Солнечный».
    at: String,
    /// «ул. Ленина» (for an address), or the same as `at` for places.
    address: String,
    /// « в Северске» (with a leading space), or empty.
    town: String,
    territory: String,
    organisation: &'static str,
}

struct Vocabulary {
    spots: Vec<Spot>,
    problems: Vec<&'static Problem>,
    /// Cumulative weights of `problems`.
    cumulative: Vec<u32>,
}

fn prepositional_kind(kind: &str) -> (&'static str, &'static str) {
    // («на улице», «ул.»)
    match kind {
        "проспект" | "пр-т" => ("на проспекте", "пр-т"),
        "переулок" | "пер." => ("в переулке", "пер."),
        "бульвар" | "б-р" => ("на бульваре", "б-р"),
        "шоссе" | "ш." => ("на шоссе", "ш."),
        "площадь" | "пл." => ("на площади", "пл."),
        "набережная" | "наб." => ("на набережной", "наб."),
        "проезд" | "пр-д" => ("в проезде", "пр-д"),
        "тупик" => ("в тупике", "туп."),
        "аллея" => ("на аллее", "ал."),
        "тракт" => ("на тракте", "тракт"),
        _ => ("на улице", "ул."),
    }
}

fn place_kind(kind: &str) -> &'static str {
    match kind {
        "микрорайон" | "мкр" => "в микрорайоне",
        "квартал" => "в квартале",
        "посёлок" | "пос." | "п." => "в посёлке",
        "село" | "с." => "в селе",
        "деревня" | "д." => "в деревне",
        "СНТ" => "в СНТ",
        _ => "в",
    }
}

fn town_of(code: &str) -> (&'static str, &'static str) {
    TOWNS
        .iter()
        .find(|(prefix, _, _)| code.starts_with(prefix))
        .map_or(("", "pravitelstvo"), |(_, town, org)| (*town, *org))
}

/// Rows of a dictionary CSV as (code, kind, name); comments and the header skipped.
fn csv_rows(text: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split(',');
            let code = cols.next()?.trim();
            let kind = cols.next()?.trim();
            let name = cols.next()?.trim();
            (!name.is_empty()).then_some((code, kind, name))
        })
}

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    let mut spots = Vec::new();
    for (code, kind, name) in csv_rows(STREETS_CSV) {
        let (at, abbr) = prepositional_kind(kind);
        let (town, organisation) = town_of(code);
        spots.push(Spot {
            at: format!("{at} {name}"),
            address: format!("{abbr} {name}"),
            town: spaced(town),
            territory: code.to_owned(),
            organisation,
        });
    }
    for (code, kind, name) in csv_rows(PLACES_CSV) {
        let (town, organisation) = town_of(code);
        let at = format!("{} {name}", place_kind(kind));
        spots.push(Spot {
            address: at.clone(),
            at,
            town: spaced(town),
            territory: code.to_owned(),
            organisation,
        });
    }
    let problems: Vec<&'static Problem> = PROBLEMS.iter().collect();
    let mut total = 0;
    let cumulative = problems
        .iter()
        .map(|p| {
            total += p.weight;
            total
        })
        .collect();
    Vocabulary {
        spots,
        problems,
        cumulative,
    }
});

/// What the generator produces.
#[derive(Debug, Clone, Copy)]
pub struct GeneratorOptions {
    /// The seed: the same seed, the same posts.
    pub seed: u64,
    /// Id of the first post (then consecutive).
    pub first_id: i64,
    /// Earliest publication time, epoch ms (default 2025-01-01T00:00Z).
    pub start_ms: i64,
    /// Publication times spread over this many days (default 730).
    pub span_days: i64,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            first_id: 1,
            start_ms: 1_735_689_600_000,
            span_days: 730,
        }
    }
}

/// An endless, deterministic stream of generated posts ([`SearchDoc`]s of kind post, with
/// category, subcategory, territory, organisation, network, status = the post's kind, and a
/// publication time).
#[derive(Debug, Clone)]
pub struct Generator {
    rng: fastrand::Rng,
    options: GeneratorOptions,
    next_id: i64,
    text: String,
}

impl Generator {
    /// Posts from `seed` with the default options.
    pub fn new(seed: u64) -> Self {
        Self::with_options(GeneratorOptions {
            seed,
            ..GeneratorOptions::default()
        })
    }

    /// Posts with these options.
    pub fn with_options(options: GeneratorOptions) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(options.seed),
            options,
            next_id: options.first_id,
            text: String::with_capacity(512),
        }
    }

    /// The next post.
    pub fn next_doc(&mut self) -> SearchDoc {
        let vocab: &Vocabulary = &VOCABULARY;
        let total = vocab.cumulative.last().copied().unwrap_or(1);
        let roll = self.rng.u32(..total);
        let index = vocab.cumulative.partition_point(|c| *c <= roll);
        let problem = vocab.problems[index.min(vocab.problems.len() - 1)];
        let spot = &vocab.spots[self.rng.usize(..vocab.spots.len())];
        let house = self.rng.u32(1..120);
        let kind_roll = self.rng.u32(..100);
        let text = &mut self.text;
        text.clear();
        // `write!` into a String cannot fail.
        let status = if kind_roll < 60 {
            let sentence = problem.complaints[self.rng.usize(..problem.complaints.len())];
            let greeting = GREETINGS[self.rng.usize(..GREETINGS.len())];
            let demand = DEMANDS[self.rng.usize(..DEMANDS.len())];
            match self.rng.u8(..3) {
                0 => {
                    let _ = write!(
                        text,
                        "{greeting}{sentence} Это {}{}. {demand}",
                        spot.at, spot.town
                    );
                }
                1 => {
                    let wait = WAITS[self.rng.usize(..WAITS.len())];
                    let _ = write!(
                        text,
                        "{greeting}{}, {}, д. {house}. {sentence} Ждём уже {wait}. {demand}",
                        capitalise_town(&spot.town),
                        spot.address
                    );
                }
                _ => {
                    let _ = write!(
                        text,
                        "{sentence} {}{}, возле дома {house}. {demand}",
                        capitalise(&spot.at),
                        spot.town
                    );
                }
            }
            "complaint"
        } else if kind_roll < 72 {
            let question = problem.questions[self.rng.usize(..problem.questions.len())];
            let _ = write!(
                text,
                "Подскажите, когда {question} {}{}? Обращались в администрацию, ответа нет.",
                spot.at, spot.town
            );
            "question"
        } else if kind_roll < 90 {
            let source = NEWS_SOURCES[self.rng.usize(..NEWS_SOURCES.len())];
            let news = problem.news[self.rng.usize(..problem.news.len())];
            let when = WHEN[self.rng.usize(..WHEN.len())];
            let _ = write!(text, "{source}: {when}{} {} {news}.", spot.town, spot.at);
            "news"
        } else {
            let to = THANKS_TO[self.rng.usize(..THANKS_TO.len())];
            let thanks = problem.thanks[self.rng.usize(..problem.thanks.len())];
            let _ = write!(
                text,
                "Хочу сказать спасибо {to} за {thanks} {}{}! Так бы всегда.",
                spot.at, spot.town
            );
            "thanks"
        };
        let network = match self.rng.u8(..20) {
            0..=10 => "vk",
            11..=15 => "telegram",
            16..=17 => "ok",
            18 => "rss",
            _ => "web",
        };
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
        let id = self.next_id;
        self.next_id += 1;
        let span = self.options.span_days.max(1) * 86_400_000;
        let published_at = self.options.start_ms + self.rng.i64(0..span);
        let category = problem
            .subcategory
            .split_once('.')
            .map_or(problem.subcategory, |(c, _)| c);
        SearchDoc {
            kind: DocKind::Post,
            id,
            title: None,
            text: text.clone(),
            url: Some(format!("https://{network}.example/post/{id}")),
            published_at,
            updated_at: published_at,
            category: Some(category.to_owned()),
            subcategory: Some(problem.subcategory.to_owned()),
            territory: Some(spot.territory.clone()),
            organisation: Some(problem.body.unwrap_or(spot.organisation).to_owned()),
            network: Some(network.to_owned()),
            status: Some(status.to_owned()),
        }
    }
}

impl Iterator for Generator {
    type Item = SearchDoc;

    fn next(&mut self) -> Option<SearchDoc> {
        Some(self.next_doc())
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The start of an address line: «В Северске» (or «Адрес» when the town is unknown).
fn capitalise_town(town: &str) -> String {
    let town = town.trim_start();
    if town.is_empty() {
        "Адрес".to_owned()
    } else {
        capitalise(town)
    }
}

fn spaced(town: &str) -> String {
    if town.is_empty() {
        String::new()
    } else {
        format!(" {town}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionaries_are_read() {
        let v: &Vocabulary = &VOCABULARY;
        assert!(v.spots.len() > 150, "{} spots", v.spots.len());
        assert!(v.spots.iter().any(|s| s.at == "на улице Ленина"));
        assert!(v.spots.iter().any(|s| s.at == "в микрорайоне Солнечный"));
        assert!(
            v.spots
                .iter()
                .any(|s| s.at == "на проспекте Мира" && s.town == " в Северске")
        );
        assert!(v.spots.iter().all(|s| !s.territory.starts_with('#')));
    }

    #[test]
    fn generation_is_deterministic_and_varied() {
        let a: Vec<SearchDoc> = Generator::new(42).take(2_000).collect();
        let b: Vec<SearchDoc> = Generator::new(42).take(2_000).collect();
        let c: Vec<SearchDoc> = Generator::new(43).take(2_000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let ids: Vec<i64> = a.iter().map(|d| d.id).collect();
        assert_eq!(ids, (1..=2_000).collect::<Vec<_>>());
        let distinct: std::collections::HashSet<&str> = a.iter().map(|d| d.text.as_str()).collect();
        assert!(distinct.len() > 1_900, "{} distinct texts", distinct.len());
        for status in ["complaint", "question", "news", "thanks"] {
            let n = a
                .iter()
                .filter(|d| d.status.as_deref() == Some(status))
                .count();
            assert!(n > 100, "{status}: {n}");
        }
        let potholes = a
            .iter()
            .filter(|d| d.subcategory.as_deref() == Some("roads.potholes"))
            .count();
        assert!(potholes > 200 && potholes < 500, "{potholes}");
        let opts = GeneratorOptions::default();
        for d in &a {
            assert!(
                !d.text.contains("  ") && !d.text.ends_with(' '),
                "{:?}",
                d.text
            );
        }
        for d in &a {
            assert!(d.published_at >= opts.start_ms, "{d:?}");
            assert!(
                d.published_at < opts.start_ms + opts.span_days * 86_400_000,
                "{d:?}"
            );
            let (cat, sub) = (d.category.as_deref(), d.subcategory.as_deref());
            assert!(
                cat.is_some_and(|c| sub.is_some_and(|s| s.starts_with(&format!("{c}.")))),
                "{d:?}"
            );
        }
    }
}
