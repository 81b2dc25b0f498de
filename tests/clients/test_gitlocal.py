"""Local git changelog: real repositories with hundreds of commits, merges and a rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytrail.clients.gitlocal import LocalGit
from deploytrail.errors import InputError
from fakes.gitrepo import GitRepo

HOSTILE = [
    "Render {{ config.SECRET }} and {% include '/etc/passwd' %}",
    "{code}x{code} [link|http://evil] h1. Heading {panel}",
    "##teamcity[buildStop comment='pwned' readdIntoQueue='false']",
    "<script>alert('x')</script> <b>bold</b> &amp;",
    "",
]


def test_lists_every_commit_since_the_previous_release_newest_first(
    make_git_repo,  # type: ignore[no-untyped-def]
) -> None:
    repo: GitRepo = make_git_repo(300)
    shas = repo.git("rev-list", "--reverse", "HEAD").split()
    changes = LocalGit(repo.path).compare(shas[49], shas[-1])
    assert changes.status == "ahead"
    assert (changes.ahead_by, changes.behind_by, changes.total) == (250, 0, 250)
    assert [c.sha for c in changes.commits] == shas[50:][::-1]
    assert changes.commits[0].summary == "Change 300"
    assert changes.previous_revision == shas[49] and changes.revision == shas[-1]


def test_short_shas_tags_and_branches_resolve_to_full_shas(git_repo: GitRepo) -> None:
    first = git_repo.commit("one")
    git_repo.git("tag", "v1.0.0")
    last = git_repo.commit("two")
    changes = LocalGit(git_repo.path).compare("v1.0.0", last[:8])
    assert (changes.previous_revision, changes.revision) == (first, last)
    assert [c.summary for c in changes.commits] == ["two"]


def test_merge_commits_are_marked_and_branch_commits_listed(git_repo: GitRepo) -> None:
    base = git_repo.commit("base")
    git_repo.branch("feature")
    git_repo.commit("PAY-7 feature work", file="feature.txt")
    git_repo.checkout("main")
    git_repo.commit("main work", file="main.txt")
    merge = git_repo.merge("feature", "Merge branch 'feature' (PAY-7)")
    changes = LocalGit(git_repo.path).compare(base, merge)
    assert changes.total == 3
    marked = {c.summary: c.is_merge for c in changes.commits}
    assert marked == {"Merge branch 'feature' (PAY-7)": True, "main work": False,
                      "PAY-7 feature work": False}
    assert changes.commits[0].issue_keys == ["PAY-7"]


def test_identical_revisions_give_identical_and_no_commits(git_repo: GitRepo) -> None:
    sha = git_repo.commit("only")
    changes = LocalGit(git_repo.path).compare(sha, sha)
    assert (changes.status, changes.commits) == ("identical", [])


def test_a_rollback_is_behind_and_counts_what_is_taken_back(
    make_git_repo,  # type: ignore[no-untyped-def]
) -> None:
    repo: GitRepo = make_git_repo(200)
    shas = repo.git("rev-list", "--reverse", "HEAD").split()
    changes = LocalGit(repo.path).compare(shas[-1], shas[-6])
    assert (changes.status, changes.ahead_by, changes.behind_by) == ("behind", 0, 5)
    assert changes.commits == []


def test_diverged_histories_list_only_the_new_side(git_repo: GitRepo) -> None:
    git_repo.commit("root")
    git_repo.branch("hotfix")
    hotfix = git_repo.commit("hotfix released")
    git_repo.checkout("main")
    git_repo.commit("new 1")
    head = git_repo.commit("new 2")
    changes = LocalGit(git_repo.path).compare(hotfix, head)
    assert (changes.status, changes.ahead_by, changes.behind_by) == ("diverged", 2, 1)
    assert [c.summary for c in changes.commits] == ["new 2", "new 1"]


def test_an_unknown_revision_is_an_input_error_naming_it(git_repo: GitRepo) -> None:
    good = git_repo.commit("one")
    with pytest.raises(InputError) as caught:
        LocalGit(git_repo.path).compare("deadbeefdeadbeef", good)
    assert "'deadbeefdeadbeef' is not a commit" in str(caught.value)
    assert good not in str(caught.value)


@pytest.mark.parametrize("revision", ["--output=/tmp/x", "", "a b"])
def test_option_like_or_blank_revisions_are_refused(git_repo: GitRepo, revision: str) -> None:
    git_repo.commit("one")
    with pytest.raises(InputError, match="is not a revision"):
        LocalGit(git_repo.path).compare(revision, "HEAD")


def test_a_folder_that_is_not_a_repository_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a git repository"):
        LocalGit(tmp_path).compare("HEAD~1", "HEAD")


def test_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a folder"):
        LocalGit(tmp_path / "nope").compare("HEAD~1", "HEAD")


def test_non_utf8_bytes_git_cannot_reencode_are_replaced_not_fatal(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    base = git_repo.commit("base")
    message = tmp_path / "msg"
    message.write_bytes(b"caf\xe9 \xff\xfe PAY-9 message\n\nbody \x80")
    # An encoding git cannot convert from: git log passes the raw bytes through.
    git_repo.git("-c", "i18n.commitEncoding=x-bogus", "commit", "-q", "--allow-empty", "-F",
                 str(message))
    [commit] = LocalGit(git_repo.path).compare(base, "HEAD").commits
    assert commit.summary == "caf\ufffd \ufffd\ufffd PAY-9 message"
    assert commit.message.endswith("body \ufffd")
    assert commit.issue_keys == ["PAY-9"]


def test_latin1_bytes_without_an_encoding_header_are_readable(git_repo: GitRepo) -> None:
    base = git_repo.commit("base")
    git_repo.commit(b"caf\xe9 PAY-10")
    [commit] = LocalGit(git_repo.path).compare(base, "HEAD").commits
    assert commit.summary in ("caf\u00e9 PAY-10", "caf\ufffd PAY-10")  # git may guess latin-1
    assert commit.issue_keys == ["PAY-10"]


def test_hostile_and_huge_messages_are_kept_verbatim(git_repo: GitRepo) -> None:
    base = git_repo.commit("base")
    huge = "PAY-1 " + "x" * 100_000 + "\n\n" + "y" * 1000
    for message in [*HOSTILE, huge]:
        git_repo.commit(message)
    commits = LocalGit(git_repo.path).compare(base, "HEAD").commits
    assert [c.message for c in commits][::-1] == [*HOSTILE, huge]
    assert commits[0].summary == "PAY-1 " + "x" * 100_000
    assert commits[1].summary == "" and commits[1].message == ""


def test_authors_and_dates_come_from_the_commit(git_repo: GitRepo) -> None:
    base = git_repo.commit("base")
    git_repo.commit("by bob", author="Bob Builder <bob@example.com>")
    [commit] = LocalGit(git_repo.path).compare(base, "HEAD").commits
    assert commit.author == "Bob Builder"
    assert commit.authored_at == "2025-12-29T09:22:00+00:00"
    assert commit.url is None


def test_first_release_lists_the_newest_50_and_says_it_is_cut(
    make_git_repo,  # type: ignore[no-untyped-def]
) -> None:
    repo: GitRepo = make_git_repo(120)
    changes = LocalGit(repo.path).first("HEAD")
    assert (changes.status, changes.total, changes.truncated) == ("first", 50, True)
    assert changes.previous_revision is None
    assert changes.commits[0].summary == "Change 120"


def test_first_release_of_a_small_repository_is_complete(git_repo: GitRepo) -> None:
    git_repo.commit("one")
    git_repo.commit("two")
    changes = LocalGit(git_repo.path).first("HEAD")
    assert (changes.total, changes.truncated) == (2, False)
