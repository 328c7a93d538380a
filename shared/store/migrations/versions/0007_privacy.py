"""privacy: suppression entries and data-subject requests

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import shared.store.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suppressions',
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('suppressed_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hash')
    )
    op.create_table('subject_requests',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('identifier_kind', sa.String(length=20), nullable=False),
    sa.Column('received_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('due_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', shared.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index('ix_subject_requests_subject_id', 'subject_requests', ['subject_id'])
    op.create_index('ix_subject_requests_due_at', 'subject_requests', ['due_at'])


def downgrade() -> None:
    op.drop_index('ix_subject_requests_due_at', table_name='subject_requests')
    op.drop_index('ix_subject_requests_subject_id', table_name='subject_requests')
    op.drop_table('subject_requests')
    op.drop_table('suppressions')
