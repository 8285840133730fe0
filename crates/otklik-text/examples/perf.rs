use std::hint::black_box;
use std::time::Instant;
use tantivy::tokenizer::{TokenFilter, TokenStream, Tokenizer};
use otklik_text::*;

const POST: &str = "Добрый день! Опять на улице Ленина возле дома 15 огромные ямы, \
    машины ломают подвески 😡😡 УК и администрация не реагируют уже третий месяц, \
    ЖКХ молчит. Когда починят дорогу? Фото: https://vk.com/photo-123_456 \
    #ЯмыНаДорогах #дороги_северск [club1|Администрация Северска]";

fn time<F: FnMut() -> usize>(name: &str, mut f: F) {
    let n = 20000;
    for _ in 0..1000 { black_box(f()); }
    let t = Instant::now();
    let mut s = 0;
    for _ in 0..n { s += black_box(f()); }
    println!("{name:20} {:8.2} µs  ({s})", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

fn count<T: Tokenizer>(t: &mut T, text: &str) -> usize {
    let mut s = t.token_stream(text);
    let mut n = 0;
    while s.advance() { n += s.token().text.len(); }
    n
}

fn main() {
    let clean = clean_text(POST).text;
    println!("{} chars, {:?}", clean.chars().count(), Analyzers::embedded().analyze(&clean).len());
    time("clean_text", || clean_text(black_box(POST)).text.len());
    let mut tok = OtklikTokenizer::default();
    time("tokenize", || count(&mut tok, &clean));
    let mut norm = RuNormalizer.transform(OtklikTokenizer::default());
    time("+normalize", || count(&mut norm, &clean));
    let d = Dictionaries::embedded();
    let mut stop = StopWordFilter::new(std::sync::Arc::new(d.stopwords.clone())).transform(RuNormalizer.transform(OtklikTokenizer::default()));
    time("+stop", || count(&mut stop, &clean));
    let mut stem = RussianStemFilter::new().transform(StopWordFilter::new(std::sync::Arc::new(d.stopwords.clone())).transform(RuNormalizer.transform(OtklikTokenizer::default())));
    time("+stem", || count(&mut stem, &clean));
    let a = Analyzers::embedded();
    time("for_each_token", || { let mut n = 0; a.for_each_token(&clean, |t| n += t.text.len()); n });
    time("analyze", || a.analyze(&clean).len());
    time("clean+analyze", || a.analyze(&clean_text(POST).text).len());
    time("detect", || detect(&clean).confidence as usize);
    extra(&clean);
    time("is_nfc_quick", || matches!(unicode_normalization::is_nfc_quick(clean.chars()), unicode_normalization::IsNormalized::Yes) as usize);
}
#[allow(dead_code)]
fn extra(clean: &str) {
    let plain = "Добрый день! Опять на улице Ленина возле дома 15 огромные ямы, машины ломают подвески. УК и администрация не реагируют уже третий месяц, ЖКХ молчит. Когда починят дорогу? Фото прилагаю, ямы на дорогах Северска, администрация Северска";
    time("clean plain", || clean_text(black_box(plain)).text.len());
    let with_emoji = format!("{plain} 😡😡");
    time("clean +emoji", || clean_text(black_box(&with_emoji)).text.len());
    let with_url = format!("{plain} https://vk.com/photo-123_456");
    time("clean +url", || clean_text(black_box(&with_url)).text.len());
    let with_tags = format!("{plain} #ЯмыНаДорогах #дороги_северск");
    time("clean +tags", || clean_text(black_box(&with_tags)).text.len());
    let with_vk = format!("{plain} [club1|Администрация Северска]");
    time("clean +vk", || clean_text(black_box(&with_vk)).text.len());
    time("is_alnum", || clean.chars().filter(|c| c.is_alphanumeric()).count());
    time("chars", || clean.chars().filter(|c| (*c as u32) > 1000).count());
}
