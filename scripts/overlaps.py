#!/usr/bin/env python3
"""Which ways of asking lead to another entry? A five-fold leave-questions-out check of a knowledge folder.

Each entry's ways of asking are held out in turn (every fifth), the index is built from the rest in a
temporary copy, and the held-out questions are asked: a question answered confidently with another
entry shows two entries that overlap (make them distinct: move the question, drop a parent's head
term from a child's keywords). Nothing in the real folder or index is touched.

usage: scripts/overlaps.py KNOWLEDGE_DIR BOT_TOML [ENTRY_ID_PREFIX ...]
  (prints the figures and the confusions; only those touching the prefixes when given)
  CUSTOMS_BOT=path/to/customs-bot (default target/release/customs-bot)
"""
import glob,os,re,shutil,subprocess,json,sys,collections
import tempfile
SRC=os.path.abspath(sys.argv[1]); CFG=sys.argv[2]; PREF=tuple(sys.argv[3:])
K=5; BIN=os.environ.get('CUSTOMS_BOT','target/release/customs-bot')
W=tempfile.mkdtemp(prefix='cv-')
cfg=open(CFG).read()
cfg=re.sub(r'(?m)^dir = "knowledge"','dir = "%s/knowledge"'%W,cfg)
cfg=re.sub(r'(?m)^dir = "index"','dir = "%s/index"'%W,cfg)
assert W in cfg
open(W+'/bot.toml','w').write(cfg)
results=[]
for k in range(K):
    shutil.rmtree(W+'/knowledge',ignore_errors=True); shutil.rmtree(W+'/index',ignore_errors=True)
    shutil.copytree(SRC,W+'/knowledge')
    held=[]
    for p in glob.glob(W+'/knowledge/*/*.md'):
        s=open(p).read().split('\n')
        eid=None; out=[]; inq=False; i=0
        for l in s:
            m=re.match(r'id = "(.*)"',l)
            if m and eid is None: eid=m.group(1)
            if l.startswith('questions = ['): inq=True; out.append(l); continue
            if inq and l.strip()==']': inq=False
            if inq and l.strip().startswith('"'):
                if i%K==k: held.append((eid,json.loads(l.strip().rstrip(',')))); i+=1; continue
                i+=1
            out.append(l)
        open(p,'w').write('\n'.join(out))
    r=subprocess.run([BIN,'--config',W+'/bot.toml','reindex'],capture_output=True,text=True)
    assert r.returncode==0, r.stderr[-2000:]
    out=subprocess.run([BIN,'--config',W+'/bot.toml','ask','--json'],input='\n'.join(q for _,q in held)+'\n',capture_output=True,text=True).stdout
    for (eid,q),l in zip(held,out.splitlines()):
        x=json.loads(l); results.append((eid,q,x['decision'],(x.get('entry') or {}).get('id'),[c['id'] for c in x['candidates'][:3]]))
shutil.rmtree(W+'/knowledge',ignore_errors=True); shutil.rmtree(W+'/index',ignore_errors=True)
n=len(results); right=sum(1 for r in results if r[2]=='answer' and r[3]==r[0]); wrong=[r for r in results if r[2]=='answer' and r[3]!=r[0]]
print('questions %d right %.1f%% wrong %.1f%% clarify %.1f%% handoff %.1f%%'%(n,100*right/n,100*len(wrong)/n,100*sum(r[2]=='clarify' for r in results)/n,100*sum(r[2]=='handoff' for r in results)/n))
pairs=collections.Counter((r[0],r[3]) for r in wrong)
json.dump(results,open(W+'/results.json','w'),ensure_ascii=False)
print('all results (entry, question, decision, answered entry, top candidates):', W+'/results.json')
print('confusions (held-out way of asking of A answered with B):')
for (a,b),c in pairs.most_common():
    if PREF and not (a.startswith(PREF) or b.startswith(PREF)): continue
    print(' %d  %s -> %s'%(c,a,b))
    for r in wrong:
        if (r[0],r[3])==(a,b): print('      ', r[1])
