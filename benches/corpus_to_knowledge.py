"""Writes every article of ../shared/corpus/laws-corpus.tar.xz as a knowledge entry, cut as
benches/ask.rs cuts it (title 《法名》第N条, the article as body), so that the real `customs-bot
reindex` and `serve` run on it: python3 benches/corpus_to_knowledge.py [OUT] (default
/tmp/laws-knowledge; the shipped lexicon is copied beside the entries)."""
import os, shutil, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else '/tmp/laws-knowledge'
src = tempfile.mkdtemp()
subprocess.run(['tar', '-xJf', os.path.join(here, '../../shared/corpus/laws-corpus.tar.xz'), '-C', src], check=True)
shutil.rmtree(out, ignore_errors=True)
os.makedirs(os.path.join(out, 'policy'))
shutil.copytree(os.path.join(here, '../knowledge/lexicon'), os.path.join(out, 'lexicon'))
files = sorted(os.path.join(d, n) for d, _, ns in os.walk(src) for n in ns if n.endswith('.md') and n != '_index.md')
quote = lambda s: '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'
count = 0
for f, path in enumerate(files):
    text = open(path, encoding='utf-8').read()
    law = next((l[2:].strip() for l in text.splitlines() if l.startswith('# ')), '')
    articles, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        i = line.find('条')
        if line.startswith('第') and 0 <= i and len(line[:i].encode()) <= 30 and line[i + 1:i + 2] in (' ', '\u3000'):
            if cur: articles.append(cur)
            cur = [line[:i + 1], line[i + 1:].strip()]
        elif line.startswith('#') or line.startswith('<!--'):
            if cur: articles.append(cur)
            cur = None
        elif cur and line:
            cur[1] += '\n' + line
    if cur: articles.append(cur)
    for article, body in articles:
        title = f'《{law}》{article}'
        body = body.replace('{{', '｛｛').replace('+++', '＋＋＋').strip() or title
        eid = f'law-{f}-{count}'
        with open(os.path.join(out, 'policy', eid + '.md'), 'w', encoding='utf-8') as o:
            # The question carries the number: several laws share a title, and each question may
            # belong to one entry only.
            o.write(f'+++\nid = "{eid}"\nkind = "policy"\ntitle = {quote(title)}\nquestions = [{quote(f"{title} {count}")}]\n'
                    f'keywords = []\nlegal_basis = []\nupdated = 2026-11-26\n+++\n{body}\n')
        count += 1
shutil.rmtree(src)
print(f'{count} entries in {out}')
