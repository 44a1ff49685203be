/* SPDX-License-Identifier: MIT */
/* size.html: one self-contained page (inline CSS and JS, nothing fetched)
 * drawn from size.json, embedded as a JSON script block. */
#include "size_report.h"
#include "util.h"

#include <json-c/json.h>
#include <string.h>

static const char page_head[] =
"<!DOCTYPE html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
"<title>slipway size report</title>\n"
"<style>\n"
"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:70em;color:#222;padding:0 1em}\n"
"h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\n"
"table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;text-align:left;vertical-align:middle}\n"
"th{font-weight:600;border-bottom:1px solid #ddd}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
"td.bar{width:45%}.bar div{background:#4a7fb5;height:12px;min-width:1px}.bar div.u{background:#b58a4a}\n"
"tr:nth-child(even){background:#f6f6f6}.ok{color:#186a18}.over{color:#b00;font-weight:600}\n"
".note{color:#666;font-size:.9em}\n"
"</style></head>\n"
"<body>\n"
"<h1 id=\"title\">Size report</h1>\n"
"<p class=\"note\" id=\"accounting\"></p>\n"
"<h2>Summary</h2><table id=\"summary\"></table>\n"
"<h2>Budget</h2><table id=\"budget\"></table>\n"
"<h2>Packages (bytes each contributes after pruning)</h2><table id=\"packages\"></table>\n"
"<h2>Top-level directories</h2><table id=\"dirs1\"></table>\n"
"<h2>Directories, two levels</h2><table id=\"dirs2\"></table>\n"
"<h2>Largest files</h2><table id=\"files\"></table>\n"
"<script type=\"application/json\" id=\"size-data\">";

static const char page_tail[] =
"</script>\n"
"<script>\n"
"window.onerror=function(m){document.body.setAttribute('data-error',String(m));};\n"
"(function(){\n"
"var R=JSON.parse(document.getElementById('size-data').textContent);\n"
"function fmt(n){if(n===null||n===undefined)return '-';var u=['B','KiB','MiB','GiB','TiB'],i=0,v=n;\n"
" while(v>=1024&&i<u.length-1){v/=1024;i++;}return (i?v.toFixed(1):String(v))+' '+u[i];}\n"
"function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;if(x!==undefined)e.textContent=x;return e;}\n"
"function head(tb,cols){var tr=el('tr');cols.forEach(function(c){tr.appendChild(el('th',null,c));});tb.appendChild(tr);}\n"
"function bars(id,kind,items,name,size,extra){\n"
" var tb=document.getElementById(id);items=items.filter(function(x){return typeof x[size]==='number';});\n"
" items.sort(function(a,b){return b[size]-a[size]||(a[name]<b[name]?-1:1);});\n"
" var max=items.length?Math.max(1,items[0][size]):1,sum=0;items.forEach(function(x){sum+=x[size];});\n"
" head(tb,[kind,'size','share'].concat(extra?extra.map(function(e){return e[0];}):[]).concat(['']));\n"
" items.forEach(function(x){var tr=el('tr','row');tr.setAttribute('data-kind',kind);tr.setAttribute('data-name',x[name]);\n"
"  tr.appendChild(el('td',null,x[name]));tr.appendChild(el('td','n',fmt(x[size])));\n"
"  tr.appendChild(el('td','n',sum?(100*x[size]/sum).toFixed(1)+' %':'-'));\n"
"  (extra||[]).forEach(function(e){tr.appendChild(el('td',e[2]?'n':null,e[2]?fmt(x[e[1]]):(x[e[1]]===null?'-':x[e[1]])));});\n"
"  var td=el('td','bar'),b=el('div',x.unowned?'u':null);b.style.width=(100*x[size]/max).toFixed(2)+'%';td.appendChild(b);tr.appendChild(td);\n"
"  tb.appendChild(tr);});\n"
" return items.length;}\n"
"var img=R.image||{};document.getElementById('title').textContent='Size report: '+(img.name||'?')+' '+(img.version||'');\n"
"document.getElementById('accounting').textContent=R.accounting||'';\n"
"var s=document.getElementById('summary');head(s,['what','size','']);\n"
"function srow(a,b,c){var tr=el('tr');tr.appendChild(el('td',null,a));tr.appendChild(el('td','n',b));tr.appendChild(el('td','note',c||''));s.appendChild(tr);}\n"
"(R.filesystems||[]).forEach(function(f){srow('partition '+f.number+' ('+f.type+', '+f.fs+')',fmt(f.df_used_bytes!==undefined&&f.df_used_bytes!==null?f.df_used_bytes:f.used_bytes),\n"
" 'used as df counts it; '+fmt(f.used_bytes)+' with metadata, of '+fmt(f.size));});\n"
"if(R.tree)srow('files in the tree',fmt(R.tree.disk_bytes),R.tree.files+' files, '+fmt(R.tree.bytes)+' apparent');\n"
"if(R.unowned)srow('files no package owns',fmt(R.unowned.disk_bytes),R.unowned.files+' files (initramfs, generated caches, dpkg database)');\n"
"(R.artifacts||[]).forEach(function(a){srow('artifact '+a.name,fmt(a.allocated_bytes),'on disk; '+fmt(a.apparent_bytes)+' apparent');});\n"
"var bt=document.getElementById('budget');head(bt,['limit','actual','maximum','verdict']);\n"
"(R.budget||[]).forEach(function(b){var tr=el('tr','row');tr.setAttribute('data-kind','budget');tr.appendChild(el('td',null,b.kind+(b.name?' '+b.name:'')));\n"
" tr.appendChild(el('td','n',fmt(b.actual)));tr.appendChild(el('td','n',fmt(b.limit)));tr.appendChild(el('td',b.ok?'ok':'over',b.ok?'within':'OVER'));bt.appendChild(tr);});\n"
"if(!(R.budget||[]).length){var tr=el('tr');tr.appendChild(el('td','note','no budget in the profile'));bt.appendChild(tr);}\n"
"var pk=(R.packages||[]).map(function(p){return {name:p.name,version:p.version,v:(typeof p.disk_bytes==='number'?p.disk_bytes:p.installed_size),installed_size:p.installed_size};});\n"
"if(R.unowned)pk.push({name:'(unowned)',version:null,v:R.unowned.disk_bytes,installed_size:null,unowned:true});\n"
"bars('packages','package',pk,'name','v',[['version','version',false],['installed','installed_size',true]]);\n"
"var d=R.directories||[];\n"
"bars('dirs1','directory',d.filter(function(x){return x.depth<=1;}),'path','disk_bytes',[['files','files',false]]);\n"
"bars('dirs2','directory',d.filter(function(x){return x.depth===2;}),'path','disk_bytes',[['files','files',false]]);\n"
"bars('files','file',(R.largest_files||[]).map(function(f){return {path:f.path,bytes:f.bytes,package:f.package};}),'path','bytes',[['package','package',false]]);\n"
"document.body.setAttribute('data-ok','1');\n"
"})();\n"
"</script>\n"
"</body></html>\n";

char *size_report_html(struct json_object *report) {
        const char *json = json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        /* Inside <script>, "</script>" or "<!--" in a string would end or
         * confuse the block: every '<' becomes its JSON escape. */
        size_t n = 0;
        for (const char *c = json; *c; c++)
                n += *c == '<' ? 6 : 1;
        char *out = xmalloc(sizeof(page_head) + n + sizeof(page_tail));
        char *w = stpcpy(out, page_head);
        for (const char *c = json; *c; c++) {
                if (*c == '<')
                        w = stpcpy(w, "\\u003c");
                else
                        *w++ = *c;
        }
        strcpy(w, page_tail);
        return out;
}
