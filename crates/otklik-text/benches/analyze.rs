//! Throughput of the clean + analyze path on a typical ~300-character post.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use otklik_text::{Analyzers, clean_text, detect};

const POST: &str = "Добрый день! Опять на улице Ленина возле дома 15 огромные ямы, \
    машины ломают подвески 😡😡 УК и администрация не реагируют уже третий месяц, \
    ЖКХ молчит. Когда починят дорогу? Фото: https://vk.com/photo-123_456 \
    #ЯмыНаДорогах #дороги_северск [club1|Администрация Северска]";

fn bench(c: &mut Criterion) {
    let analyzers = Analyzers::default();
    c.bench_function("clean_text", |b| b.iter(|| clean_text(black_box(POST))));
    let cleaned = clean_text(POST).text;
    c.bench_function("analyze", |b| {
        b.iter(|| analyzers.analyze(black_box(&cleaned)))
    });
    c.bench_function("for_each_token", |b| {
        b.iter(|| {
            let mut n = 0usize;
            analyzers.for_each_token(black_box(&cleaned), |_| n += 1);
            n
        })
    });
    c.bench_function("clean_and_analyze", |b| {
        b.iter(|| analyzers.analyze(&clean_text(black_box(POST)).text))
    });
    c.bench_function("detect", |b| b.iter(|| detect(black_box(&cleaned))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
