"""``db.migrate`` imports Alembic only when a tree is not certainly at its head: a database already there is left as it
is without loading Alembic and Mako (some 10 MB of every service process); one behind, or a tree whose head is not
certain from its scripts' source, is migrated by Alembic as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

import services.common.base.personal  # noqa: F401  (registers the personal_keys tree)
from services.common.base import db
from services.common.base.db import at_head, create_db_engine, migrate, tree_head

ROOT = Path(__file__).resolve().parents[2]
TREES = sorted(path for path in (ROOT / "services").rglob("versions") if path.is_dir())


def _alembic_heads(versions: Path) -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(versions.parent))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(versions))
    return list(ScriptDirectory.from_config(config).get_heads())


@pytest.mark.parametrize("versions", TREES, ids=[str(t.parent.relative_to(ROOT)) for t in TREES])
def test_every_trees_head_read_from_its_source_is_alembics(versions: Path) -> None:
    assert [tree_head(versions)] == _alembic_heads(versions)


def test_a_database_at_its_head_is_checked_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    migrate(create_db_engine(url), "personal_keys")
    code = f"""
        import sys
        from services.common.base.personal import platform_key_store  # registers the tree
        from services.common.base.db import create_db_engine, migrate
        migrate(create_db_engine({url!r}), "personal_keys")
        print(sorted(name for name in ("alembic", "mako") if name in sys.modules))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_a_database_behind_its_head_is_migrated(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(engine, "personal_keys", revision="pk0001")
    assert not at_head(engine, "personal_keys")
    migrate(engine, "personal_keys")
    assert at_head(engine, "personal_keys")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version_personal_keys")).scalar() == "pk0002"


def test_a_new_database_is_migrated() -> None:
    engine = create_db_engine("sqlite://")
    assert not at_head(engine, "personal_keys")
    migrate(engine, "personal_keys")
    assert at_head(engine, "personal_keys")


def _script(folder: Path, revision: str, down: str, extra: str = "") -> None:
    (folder / f"{revision}.py").write_text(
        f'revision = "{revision}"\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n{extra}\n'
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("second", "extra"),
    [
        ('"a1"', ""),  # a second head beside b1: Alembic refuses to upgrade to "head"
        ('"zz"', ""),  # down from a script that does not exist
        ('"b1"', 'branch_labels = ("x",)'),  # a name bound twice
        ('"b" + "1"', ""),  # not a literal
        ('"b1"', "from somewhere import revision"),  # bound again by an import
        ('"b1"', 'depends_on = "a1"'),  # a dependency (and bound twice)
    ],
)
def test_a_head_not_certain_from_the_source_is_left_to_alembic(tmp_path: Path, second: str, extra: str) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    _script(versions, "a1", "None")
    _script(versions, "b1", '"a1"')
    assert tree_head(versions) == "b1"
    _script(versions, "c1", '"b1"')
    assert tree_head(versions) == "c1"
    _script(versions, "c1", second, extra)
    assert tree_head(versions) is None


def test_a_tree_whose_head_is_not_certain_is_still_migrated_by_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    (tree / "versions").mkdir(parents=True)
    (tree / "env.py").write_text(
        "from alembic import context\n\nfrom services.common.base.db import run_migrations_online\n\n"
        "run_migrations_online(context)\n",
        encoding="utf-8",
    )
    _script(tree / "versions", "a1", "None", "import sqlalchemy as sa\nfrom alembic import op\n")
    (tree / "versions" / "a1.py").write_text(
        (tree / "versions" / "a1.py")
        .read_text(encoding="utf-8")
        .replace("    pass\n", '    op.create_table("made", sa.Column("x", sa.Integer()))\n', 1),
        encoding="utf-8",
    )
    _script(tree / "versions", "b1", '"a" + "1"')  # its head is b1, but not a literal one
    monkeypatch.setitem(db._MIGRATION_TREES, "uncertain_test_tree", tree)  # registered for this test only
    assert tree_head(tree / "versions") is None
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine, "uncertain_test_tree")
    migrate(engine, "uncertain_test_tree")  # and again: Alembic finds it at b1
    with engine.connect() as connection:
        assert (
            connection.execute(sa.text("SELECT version_num FROM alembic_version_uncertain_test_tree")).scalar() == "b1"
        )
        assert sa.inspect(connection).has_table("made")
