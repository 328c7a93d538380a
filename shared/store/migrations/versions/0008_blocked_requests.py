"""blocked requests: what the contact rules refused or put off to the permitted hours, by reason

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import shared.store.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocked_requests',
    sa.Column('blocked_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.String(length=300), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('decided_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('blocked_id')
    )
    op.create_index('ix_blocked_requests_lead_id', 'blocked_requests', ['lead_id'])


def downgrade() -> None:
    op.drop_index('ix_blocked_requests_lead_id', table_name='blocked_requests')
    op.drop_table('blocked_requests')
