"""operator console: users, audit log; escalations closed by their owner

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import shared.store.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_users',
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    op.create_table('console_audit',
    sa.Column('audit_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', shared.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('audit_id')
    )
    op.create_index('ix_console_audit_at', 'console_audit', ['at'])
    op.create_index('ix_console_audit_username', 'console_audit', ['username'])
    with op.batch_alter_table('escalations') as batch:
        batch.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('closed_at', shared.store.models.UtcDateTime(timezone=True), nullable=True))
    # The BĐT worklist: a unit's open escalations, oldest first.
    op.create_index('ix_escalations_worklist', 'escalations', ['owner', 'closed_at', 'escalated_at'])
    op.create_index('ix_leads_imported_at', 'leads', ['imported_at'])


def downgrade() -> None:
    op.drop_index('ix_leads_imported_at', 'leads')
    op.drop_index('ix_escalations_worklist', 'escalations')
    with op.batch_alter_table('escalations') as batch:
        batch.drop_column('closed_at')
        batch.drop_column('outcome')
    op.drop_index('ix_console_audit_username', 'console_audit')
    op.drop_index('ix_console_audit_at', 'console_audit')
    op.drop_table('console_audit')
    op.drop_table('console_users')
