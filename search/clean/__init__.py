"""Page or file -> Article: main text, title, topics, people, date."""

from __future__ import annotations

from search.article import Article, NoText
from search.clean.html import clean_html, decode_html
from search.clean.reuters import clean_reuters
from search.clean.text import clean_text
from search.sources import HTML, JSONL, REUTERS, TEXT, Document


class CleanError(ValueError):
    """A document that cannot become an article; the message says why.

    ``failed`` is False when the document was read fine but holds no article text.
    """

    def __init__(self, reason: str, failed: bool = True):
        super().__init__(reason)
        self.failed = failed


def _file_url(document: Document) -> str:
    """The file:// address of the file a document was read from."""
    return document.path.resolve().as_uri()


def clean_document(document: Document, url: str | None = None) -> Article:
    """Return the Article of ``document``.

    Args:
        document: what a reader yielded.
        url: the address the document was published at, when the caller knows it.

    Raises:
        CleanError: the document holds no usable article.
    """
    try:
        if document.kind == HTML:
            return clean_html(decode_html(document.content), url or _file_url(document))
        if document.kind == TEXT:
            # A plain-text article says nothing of its source: its folder names it.
            url = url or _file_url(document)
            return clean_text(document.content, url, document.path.parent.name)
        if document.kind == REUTERS:
            return clean_reuters(document.content)
        if document.kind == JSONL:
            if not isinstance(document.content, dict):
                raise ValueError("a JSON line must be an object")
            article = Article.from_dict(document.content)
            if not (article.title or article.body):
                raise NoText("article has neither title nor body")
            return article
    except NoText as error:
        raise CleanError(str(error), failed=False) from error
    except (ValueError, TypeError, LookupError) as error:
        raise CleanError(str(error) or type(error).__name__) from error
    raise CleanError(f"no cleaner for {document.kind!r}")
