"""The report's only script, inline (no external requests): sortable and filterable tables,
and a run highlighted across every table when its name is clicked, so a 22-run study stays
readable. Without JavaScript the tables are plain and complete."""

from __future__ import annotations

import re

SCRIPT = """
(function(){
function num(t){var x=parseFloat(t.replace(/\\u2212/g,'-'));return isNaN(x)?null:x;}
function cell(r,i){var c=r.cells[i];return c?c.textContent.trim():'';}
function sortBy(t,th,i){
  var body=t.tBodies[0],dir=th.dataset.dir==='asc'?'desc':'asc';
  Array.from(th.parentNode.cells).forEach(function(h){delete h.dataset.dir;});
  th.dataset.dir=dir;
  var rows=Array.from(body.rows);
  rows.sort(function(a,b){
    var x=cell(a,i),y=cell(b,i),p=num(x),q=num(y),c;
    if(p!==null&&q!==null){c=p-q;}else if(p!==null){c=-1;}else if(q!==null){c=1;}
    else{c=x.localeCompare(y);}
    return dir==='asc'?c:-c;});
  rows.forEach(function(r){body.appendChild(r);});
}
document.querySelectorAll('main table').forEach(function(t){
  var body=t.tBodies[0];
  if(!body||!t.tHead){return;}
  var f=document.createElement('input');
  f.type='search';f.className='filter';f.placeholder='filter rows';
  f.addEventListener('input',function(){
    var q=f.value.toLowerCase();
    Array.from(body.rows).forEach(function(r){
      r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});});
  t.parentNode.insertBefore(f,t);
  Array.from(t.tHead.rows[0].cells).forEach(function(th,i){
    th.classList.add('sortable');th.title='sort';
    th.addEventListener('click',function(){sortBy(t,th,i);});});
});
document.querySelectorAll('main table tbody td.l:first-child').forEach(function(td){
  td.title='highlight this row in every table';
  td.addEventListener('click',function(){
    var name=td.textContent.trim(),on=!td.parentNode.classList.contains('hl');
    document.querySelectorAll('main table tbody tr').forEach(function(r){
      if(r.cells[0]&&r.cells[0].textContent.trim()===name){r.classList.toggle('hl',on);}});});
});
})();
"""

CSS = """
input.filter{display:block;margin:.6em 0 -.4em;font-size:12px;padding:.15em .4em;width:16em}
th.sortable{cursor:pointer} th[data-dir=asc]:after{content:' \\25B2'} th[data-dir=desc]:after{content:' \\25BC'}
tr.hl td{background:#e3edff} td.l:first-child{cursor:pointer}
"""

_LINK = re.compile(r'href="#s(\d+)"')


def linked_rows(html: str) -> set[int]:
    """summary.csv rows the page links to (`#s<N>`): the provenance entries it must carry."""
    return {int(n) for n in _LINK.findall(html)}
