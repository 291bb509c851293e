"""search index: documents, facets, and the full-text part of each backend

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_doc",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("organization", sa.String(length=100), nullable=False),
        sa.Column("metadata_created", sa.DateTime(), nullable=False),
        sa.Column("metadata_modified", sa.DateTime(), nullable=False),
        sa.Column("package", sa.JSON(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_search_doc_modified", "search_doc", ["metadata_modified"])
    op.create_index("ix_search_doc_title", "search_doc", ["title"])
    op.create_index("ix_search_doc_org", "search_doc", ["organization"])
    op.create_table(
        "search_facet",
        sa.Column("facet", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["doc_id"], ["search_doc.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("facet", "value", "doc_id"),
    )
    op.create_index("ix_search_facet_doc", "search_facet", ["doc_id"])
    op.create_table(
        "search_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_doc ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_search_doc_tsv ON search_doc USING GIN (tsv)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, keywords, body, tokenize='porter unicode61')"
        )
        op.execute(
            "CREATE TRIGGER search_doc_fts_delete AFTER DELETE ON search_doc "
            "BEGIN DELETE FROM search_fts WHERE rowid = old.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS search_doc_fts_delete")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_state")
    op.drop_index("ix_search_facet_doc", table_name="search_facet")
    op.drop_table("search_facet")
    op.drop_index("ix_search_doc_org", table_name="search_doc")
    op.drop_index("ix_search_doc_title", table_name="search_doc")
    op.drop_index("ix_search_doc_modified", table_name="search_doc")
    op.drop_table("search_doc")
