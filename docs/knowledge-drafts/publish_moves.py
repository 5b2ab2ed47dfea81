# Run when publishing the drafts (after copying them into knowledge/): python3 docs/knowledge-drafts/publish_moves.py knowledge
# Moves the broad entries' specific questions to the new specific entries (parents become overviews with `related` links)
# and drops generic keywords that let two new entries take neighbours' questions. Chosen from dev-set failures only.
import glob,re,sys
root=sys.argv[1]
moves={
 'proc-entity-recordation':[("临时备案谁可以办 有效期多久","reg-temporary-filing"),("报关注册登记证书现在还发吗","reg-filing-history"),("多证合一 勾选报关单位备案","reg-multi-certificate"),("外国企业常驻代表机构进口办公用品 能办临时备案吗","reg-temporary-filing"),("高校要进口少量货样做研究，还没有报关资质怎么临时备案","reg-temporary-filing"),("报关单位年度报告 什么时候报","reg-annual-report")],
 'proc-processing-trade':[("加工贸易手册怎么设立","ptrade-setup-manual"),("加工贸易单耗怎么申报","ptrade-unit-consumption"),("加工贸易料件转内销要交缓税利息吗","ptrade-deferred-interest"),("我们厂做进料加工 成品想转内销怎么办","ptrade-domestic-sale"),("加工贸易单耗报不准会怎样","ptrade-unit-consumption"),("加工贸易内销 补税 怎么算","ptrade-domestic-sale"),("保税料件 内销 需要许可证吗","ptrade-domestic-sale"),("加工贸易 单耗 谁来核定","ptrade-unit-consumption")],
 'proc-tax-reduction-exemption':[("减免税货物监管年限是几年","exempt-supervision-period"),("减免税货物使用状况报告书什么时候交","exempt-usage-report"),("减免税设备 监管期内 改作他用 要补税吗","exempt-disposal-transfer"),("减免税车辆 监管期几年","exempt-supervision-period"),("减免税货物使用状况报告 没按时交 有啥影响","exempt-usage-report"),("我们是高校 进口科研仪器想免税 咋办","exempt-science-education"),("减免税货物 转让 补税","exempt-disposal-transfer")],
}
f=lambda i: glob.glob(f'{root}/*/{i}.md')[0]
for parent,ms in moves.items():
    p=f(parent); s=open(p).read()
    kids=[]
    for q,child in ms:
        line=f'  "{q}",\n'
        assert line in s,(parent,q)
        s=s.replace(line,'',1)
        c=f(child); cs=open(c).read()
        cs=re.sub(r'(questions = \[\n)', lambda m: m.group(1)+line, cs, count=1)
        open(c,'w').write(cs)
        if child not in kids: kids.append(child)
    m=re.search(r'^related = \[(.*)\]$', s, re.M)
    cur=m.group(1)
    new=cur+''.join(', "%s"'%k for k in kids if k not in cur)
    s=s[:m.start()]+'related = [%s]'%new.lstrip(', ')+s[m.end():]
    open(p,'w').write(s)
def kw(i, drop):
    p=f(i); s=open(p).read()
    for d in drop:
        s=re.sub(r'"%s", ?|, "%s"'%(d,d),'',s,count=1)
    open(p,'w').write(s)
kw('exempt-carryover',['报关手续'])
kw('manifest-arrival-report',['监管场所经营人','堆场','码头'])
