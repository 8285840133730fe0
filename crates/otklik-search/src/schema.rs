//! The index schema and the conversion of [`SearchDoc`] to and from tantivy documents.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{TantivyDocument, Term};

use crate::doc::{DocKind, Facet, SearchDoc, month_of};

/// Bumped whenever the schema or the analysis changes: an index of another version must be
/// rebuilt. Kept in the commit payload.
pub const SCHEMA_VERSION: u32 = 1;

/// Field names.
pub(crate) const KEY: &str = "key";
pub(crate) const ID: &str = "id";
pub(crate) const BODY: &str = "body";
pub(crate) const TEXT: &str = "text";
pub(crate) const TITLE: &str = "title";
pub(crate) const URL: &str = "url";
pub(crate) const PUBLISHED_AT: &str = "published_at";
pub(crate) const UPDATED_AT: &str = "updated_at";

/// The fields of the index.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub schema: Schema,
    /// `m:ID` / `p:ID`: unique, for updates and deletes.
    pub key: Field,
    pub id: Field,
    /// Title and text, analysed with `otklik_ru` (positions kept for phrases). Not stored.
    pub body: Field,
    /// Stored only (hits and snippets).
    pub text: Field,
    pub title: Field,
    pub url: Field,
    pub published_at: Field,
    pub updated_at: Field,
    /// One raw, fast, stored field per [`Facet`], in [`Facet::ALL`] order.
    pub facets: [Field; 8],
}

impl Fields {
    pub fn new() -> Self {
        let mut b = Schema::builder();
        let key = b.add_text_field(KEY, STRING | STORED);
        let id = b.add_i64_field(ID, FAST | STORED);
        let body = b.add_text_field(
            BODY,
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(otklik_text::RU_ANALYZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        let text = b.add_text_field(TEXT, STORED);
        let title = b.add_text_field(TITLE, STORED);
        let url = b.add_text_field(URL, STORED);
        let published_at = b.add_i64_field(PUBLISHED_AT, INDEXED | FAST | STORED);
        let updated_at = b.add_i64_field(UPDATED_AT, STORED);
        let facets = Facet::ALL.map(|f| b.add_text_field(f.name(), STRING | FAST | STORED));
        Fields {
            schema: b.build(),
            key,
            id,
            body,
            text,
            title,
            url,
            published_at,
            updated_at,
            facets,
        }
    }

    /// Takes the fields from an existing schema (fails when one is missing).
    pub fn from_schema(schema: &Schema) -> tantivy::Result<Self> {
        let f = |name: &str| schema.get_field(name);
        let mut facets = Vec::with_capacity(Facet::ALL.len());
        for facet in Facet::ALL {
            facets.push(f(facet.name())?);
        }
        let facets: [Field; 8] = facets
            .try_into()
            .map_err(|_| tantivy::TantivyError::SchemaError("facet fields are missing".into()))?;
        Ok(Fields {
            schema: schema.clone(),
            key: f(KEY)?,
            id: f(ID)?,
            body: f(BODY)?,
            text: f(TEXT)?,
            title: f(TITLE)?,
            url: f(URL)?,
            published_at: f(PUBLISHED_AT)?,
            updated_at: f(UPDATED_AT)?,
            facets,
        })
    }

    pub fn facet(&self, facet: Facet) -> Field {
        self.facets[facet as usize]
    }

    pub fn key_term(&self, key: &crate::DocKey) -> Term {
        Term::from_field_text(self.key, &key.term())
    }

    /// The tantivy document of `doc`.
    pub fn to_tantivy(&self, doc: &SearchDoc) -> TantivyDocument {
        let mut d = TantivyDocument::new();
        d.add_text(self.key, doc.key().term());
        d.add_i64(self.id, doc.id);
        if let Some(title) = doc.title.as_deref().filter(|t| !t.is_empty()) {
            d.add_text(self.body, title);
            d.add_text(self.title, title);
        }
        d.add_text(self.body, &doc.text);
        d.add_text(self.text, &doc.text);
        if let Some(url) = &doc.url {
            d.add_text(self.url, url);
        }
        d.add_i64(self.published_at, doc.published_at);
        d.add_i64(self.updated_at, doc.updated_at);
        let mut add = |facet: Facet, value: Option<&str>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                d.add_text(self.facet(facet), v);
            }
        };
        add(Facet::Kind, Some(doc.kind.code()));
        add(Facet::Category, doc.category.as_deref());
        add(Facet::Subcategory, doc.subcategory.as_deref());
        add(Facet::Territory, doc.territory.as_deref());
        add(Facet::Organisation, doc.organisation.as_deref());
        add(Facet::Network, doc.network.as_deref());
        add(Facet::Status, doc.status.as_deref());
        add(Facet::Period, Some(&month_of(doc.published_at)));
        d
    }

    /// The [`SearchDoc`] back from a stored document.
    pub fn to_search_doc(&self, d: &TantivyDocument) -> SearchDoc {
        let text = |field: Field| -> Option<String> {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let int = |field: Field| d.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0);
        let kind = text(self.facet(Facet::Kind))
            .and_then(|k| DocKind::from_code(&k))
            .unwrap_or_default();
        SearchDoc {
            kind,
            id: int(self.id),
            title: text(self.title),
            text: text(self.text).unwrap_or_default(),
            url: text(self.url),
            published_at: int(self.published_at),
            updated_at: int(self.updated_at),
            category: text(self.facet(Facet::Category)),
            subcategory: text(self.facet(Facet::Subcategory)),
            territory: text(self.facet(Facet::Territory)),
            organisation: text(self.facet(Facet::Organisation)),
            network: text(self.facet(Facet::Network)),
            status: text(self.facet(Facet::Status)),
        }
    }
}
