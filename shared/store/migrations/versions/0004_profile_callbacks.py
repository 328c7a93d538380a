"""profile call-backs and their outcome

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import shared.store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('profile_callbacks',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('msisdn', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('callback_for', sa.String(length=100), nullable=True),
    sa.Column('missing_fields', sa.JSON(), nullable=False),
    sa.Column('requested_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', shared.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('disposition', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('request_id')
    )
    with op.batch_alter_table('profile_callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_callbacks_msisdn'), ['msisdn'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('profile_callbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_callbacks_msisdn'))
    op.drop_table('profile_callbacks')
