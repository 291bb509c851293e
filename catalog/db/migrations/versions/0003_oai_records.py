"""oai records: every visible release's OAI-PMH header and records, stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oai_record",
        sa.Column("release_id", sa.String(length=36), nullable=False),
        sa.Column("datestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.Column("oai_dc", sa.Text(), nullable=True),
        sa.Column("oai_datacite", sa.Text(), nullable=True),
        sa.Column("dcat_ap", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id"),
    )
    # OAI-PMH pages walk releases in (modified_at, id) order.
    with op.batch_alter_table("release") as batch_op:
        batch_op.create_index("ix_release_modified_id", ["modified_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("release") as batch_op:
        batch_op.drop_index("ix_release_modified_id")
    op.drop_table("oai_record")
