"""inbound hotline calls not tied to one lead; contacts found by value

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import shared.store.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unmatched_calls',
    sa.Column('call_id', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('tax_code', sa.String(length=40), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('disposition', sa.String(length=20), nullable=False),
    sa.Column('received_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_id')
    )
    with op.batch_alter_table('unmatched_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unmatched_calls_reason'), ['reason'], unique=False)
    op.create_index('ix_contacts_value', 'contacts', ['value'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contacts_value', table_name='contacts')
    with op.batch_alter_table('unmatched_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unmatched_calls_reason'))
    op.drop_table('unmatched_calls')
