"""lead lifecycle: each lead's state and the moves refused

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import shared.store.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lead_states',
    sa.Column('lead_id', sa.String(length=300), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('owner', sa.String(length=20), nullable=True),
    sa.Column('updated_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('lead_id')
    )
    with op.batch_alter_table('lead_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_states_stage'), ['stage'], unique=False)
    op.create_table('lifecycle_refusals',
    sa.Column('refusal_id', sa.String(length=64), nullable=False),
    sa.Column('lead_id', sa.String(length=300), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('happening', sa.String(length=30), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('refused_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('refusal_id')
    )
    with op.batch_alter_table('lifecycle_refusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lifecycle_refusals_lead_id'), ['lead_id'], unique=False)
    # Leads already under way: their state as the ledger and the escalations knew it.
    op.execute(
        "INSERT INTO lead_states (lead_id, stage, owner, updated_at) "
        "SELECT l.lead_id, CASE WHEN e.returned_by IS NOT NULL AND l.stage = 'escalated' THEN 'returned_to_tct' "
        "ELSE l.stage END, CASE WHEN l.stage = 'escalated' THEN e.owner END, l.updated_at "
        "FROM leads l LEFT JOIN escalations e ON e.lead_id = l.lead_id")


def downgrade() -> None:
    with op.batch_alter_table('lifecycle_refusals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lifecycle_refusals_lead_id'))
    op.drop_table('lifecycle_refusals')
    with op.batch_alter_table('lead_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_states_stage'))
    op.drop_table('lead_states')
