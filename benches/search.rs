//! Archive search (otklik-search) on a small generated corpus: query latency with facet
//! counts and snippets, bulk indexing, and the post generator.
//!
//! ```sh
//! cargo bench --bench search
//! ```
//!
//! The 1,000,000-post comparison with PostgreSQL is `benches/search-vs-postgres.sh`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use otklik_search::generate::Generator;
use otklik_search::{Facet, IndexerOptions, SearchDoc, SearchIndex, SearchQuery, Sort};

const CORPUS: usize = 50_000;

fn corpus_index() -> SearchIndex {
    let index = SearchIndex::in_ram().expect("index");
    let mut indexer = index
        .indexer(IndexerOptions {
            threads: 1,
            heap_bytes: 100_000_000,
        })
        .expect("writer");
    for doc in Generator::new(2026).take(CORPUS) {
        indexer.add_new(&doc).expect("add");
    }
    indexer.commit().expect("commit");
    index
}

fn with_facets(q: SearchQuery) -> SearchQuery {
    [
        Facet::Category,
        Facet::Subcategory,
        Facet::Territory,
        Facet::Organisation,
        Facet::Network,
        Facet::Status,
        Facet::Period,
    ]
    .into_iter()
    .fold(q, SearchQuery::facet)
}

fn queries(c: &mut Criterion) {
    let index = corpus_index();
    let mut group = c.benchmark_group("search_50k");
    let cases: [(&str, SearchQuery); 7] = [
        ("common_term", with_facets(SearchQuery::new("яма"))),
        ("two_terms", with_facets(SearchQuery::new("горячая вода"))),
        (
            "three_terms",
            with_facets(SearchQuery::new("ремонт дороги Северск")),
        ),
        ("phrase", with_facets(SearchQuery::new("\"улица Ленина\""))),
        ("common_term_no_facets", SearchQuery::new("яма")),
        (
            "filtered_newest",
            with_facets(
                SearchQuery::new("мусор")
                    .filter(Facet::Network, "vk")
                    .sort(Sort::Newest),
            ),
        ),
        (
            "browse_all_facets",
            with_facets(SearchQuery::new("").limit(0)),
        ),
    ];
    for (name, q) in &cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), q, |b, q| {
            b.iter(|| black_box(index.search(q).expect("search")));
        });
    }
    group.finish();
}

fn indexing(c: &mut Criterion) {
    let docs: Vec<SearchDoc> = Generator::new(7).take(10_000).collect();
    let mut group = c.benchmark_group("index");
    group.throughput(Throughput::Elements(docs.len() as u64));
    group.sample_size(10);
    group.bench_function("bulk_10k_posts_1_thread", |b| {
        b.iter(|| {
            let index = SearchIndex::in_ram().expect("index");
            let mut indexer = index
                .indexer(IndexerOptions {
                    threads: 1,
                    heap_bytes: 100_000_000,
                })
                .expect("writer");
            for doc in &docs {
                indexer.add_new(doc).expect("add");
            }
            indexer.commit().expect("commit");
            black_box(index.num_docs())
        });
    });
    group.finish();
}

fn generating(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10k_posts", |b| {
        b.iter(|| {
            let mut g = Generator::new(1);
            let mut n = 0usize;
            for _ in 0..10_000 {
                n += g.next_doc().text.len();
            }
            black_box(n)
        });
    });
    group.finish();
}

criterion_group!(benches, queries, indexing, generating);
criterion_main!(benches);
